package interop

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/entrakit/entrakit/oauth"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

const (
	nativeRedirect = "http://localhost/auth/callback"
	webRedirect    = "http://localhost:9999/auth/callback"
)

// provider is zitadel's example OP on a loopback TLS server.
type provider struct {
	srv           *httptest.Server
	tokenEndpoint string
	authEndpoint  string
}

func init() {
	storage.RegisterClients(
		storage.NativeClient("native", nativeRedirect),
		storage.WebClient("web", "web-secret", webRedirect),
	)
}

func startProvider(t *testing.T) *provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	issuer := srv.URL + "/"
	st := storage.NewStorage(storage.NewUserStore(issuer))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv.Config.Handler = exampleop.SetupServer(issuer, st, logger, false)
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(issuer + ".well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var disc struct {
		Token     string   `json:"token_endpoint"`
		Authorize string   `json:"authorization_endpoint"`
		Methods   []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&disc); err != nil {
		t.Fatal(err)
	}
	return &provider{srv: srv, tokenEndpoint: disc.Token, authEndpoint: disc.Authorize}
}

// code signs the test user in through the provider's real login form and returns the code.
func (p *provider) code(t *testing.T, clientID, redirect, challenge string) string {
	t.Helper()
	browser := p.srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid offline_access"}, "state": {"st"}}
	if challenge != "" {
		q.Set("code_challenge", challenge)
		q.Set("code_challenge_method", "S256")
	}
	loc := p.follow(t, browser, http.MethodGet, p.authEndpoint+"?"+q.Encode(), nil)
	u, _ := url.Parse(loc)
	id := u.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("authorize redirected to %s, not to the login page", loc)
	}
	host := strings.Split(strings.TrimPrefix(p.srv.URL, "https://"), ":")[0]
	loc = p.follow(t, browser, http.MethodPost, p.srv.URL+"/login/username",
		url.Values{"id": {id}, "username": {"test-user@" + host}, "password": {"verysecure"}})
	for !strings.HasPrefix(loc, redirect) {
		loc = p.follow(t, browser, http.MethodGet, loc, nil)
	}
	u, _ = url.Parse(loc)
	if u.Query().Get("state") != "st" || u.Query().Get("code") == "" {
		t.Fatalf("callback %s", loc)
	}
	return u.Query().Get("code")
}

// follow sends one request and returns the Location of its redirect (made absolute).
func (p *provider) follow(t *testing.T, c *http.Client, method, target string, form url.Values) string {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = p.srv.URL + target
	}
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(target, form)
	} else {
		resp, err = c.Get(target)
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 3 {
		t.Fatalf("%s %s: %d %s", method, target, resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

func retrieveErr(t *testing.T, err error) *oauth.RetrieveError {
	t.Helper()
	var re *oauth.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v (%T), want *oauth.RetrieveError", err, err)
	}
	return re
}

func TestCodeWithPKCEThenRefreshWithStrictRotation(t *testing.T) {
	p := startProvider(t)
	c := &oauth.Client{HTTPClient: p.srv.Client()}
	ctx := context.Background()
	verifier := oauth.NewVerifier()
	code := p.code(t, "native", nativeRedirect, oauth.S256Challenge(verifier))
	grant := oauth.AuthCodeGrant{ClientID: "native", Code: code, RedirectURI: nativeRedirect, Scopes: []string{"openid", "offline_access"}, CodeVerifier: verifier}
	tok, err := c.Exchange(ctx, p.tokenEndpoint, grant.Form())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.IDToken == "" || tok.ExpiresOn.IsZero() || tok.TokenType != "Bearer" {
		t.Fatalf("token = %v", tok)
	}

	// A replayed code is refused with a typed error.
	_, err = c.Exchange(ctx, p.tokenEndpoint, grant.Form())
	if re := retrieveErr(t, err); re.ErrorCode != "invalid_grant" {
		t.Errorf("replayed code: %v", err)
	}

	// Refresh: the new refresh token works, the old one is rejected (strict rotation).
	first := tok.RefreshToken
	next, err := c.Exchange(ctx, p.tokenEndpoint, oauth.RefreshGrant{ClientID: "native", RefreshToken: first, Scopes: []string{"openid", "offline_access"}}.Form())
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == "" || next.RefreshToken == first || next.AccessToken == tok.AccessToken {
		t.Fatalf("refresh did not rotate: %v", next)
	}
	_, err = c.Exchange(ctx, p.tokenEndpoint, oauth.RefreshGrant{ClientID: "native", RefreshToken: first, Scopes: []string{"openid"}}.Form())
	if re := retrieveErr(t, err); re.ErrorCode != "invalid_grant" {
		t.Errorf("old refresh token: %v", err)
	}
	if _, err := c.Exchange(ctx, p.tokenEndpoint, oauth.RefreshGrant{ClientID: "native", RefreshToken: next.RefreshToken, Scopes: []string{"openid", "offline_access"}}.Form()); err != nil {
		t.Errorf("the rotated refresh token: %v", err)
	}
}

func TestTypedErrors(t *testing.T) {
	p := startProvider(t)
	c := &oauth.Client{HTTPClient: p.srv.Client()}
	ctx := context.Background()

	verifier := oauth.NewVerifier()
	code := p.code(t, "native", nativeRedirect, oauth.S256Challenge(verifier))
	_, err := c.Exchange(ctx, p.tokenEndpoint, oauth.AuthCodeGrant{ClientID: "native", Code: code, RedirectURI: nativeRedirect,
		Scopes: []string{"openid"}, CodeVerifier: oauth.NewVerifier()}.Form())
	if re := retrieveErr(t, err); re.ErrorCode != "invalid_grant" || re.StatusCode != 400 {
		t.Errorf("wrong verifier: %v", err)
	}

	code = p.code(t, "web", webRedirect, "")
	_, err = c.Exchange(ctx, p.tokenEndpoint, oauth.AuthCodeGrant{ClientID: "web", Code: code, RedirectURI: webRedirect,
		Scopes: []string{"openid"}, ClientSecret: "not-the-secret"}.Form())
	if re := retrieveErr(t, err); re.ErrorCode != "invalid_client" && re.ErrorCode != "unauthorized_client" {
		t.Errorf("wrong client secret: %v", err)
	}

	code = p.code(t, "web", webRedirect, "")
	_, err = c.Exchange(ctx, p.tokenEndpoint, oauth.AuthCodeGrant{ClientID: "web", Code: code, RedirectURI: "http://localhost:9999/other",
		Scopes: []string{"openid"}, ClientSecret: "web-secret"}.Form())
	if re := retrieveErr(t, err); re.ErrorCode != "invalid_grant" {
		t.Errorf("redirect mismatch: %v", err)
	}
	if strings.Contains(err.Error(), "web-secret") {
		t.Errorf("the error shows the client secret: %v", err)
	}

	// And the right secret works: client_secret_post against a real server.
	code = p.code(t, "web", webRedirect, "")
	if _, err := c.Exchange(ctx, p.tokenEndpoint, oauth.AuthCodeGrant{ClientID: "web", Code: code, RedirectURI: webRedirect,
		Scopes: []string{"openid"}, ClientSecret: "web-secret"}.Form()); err != nil {
		t.Errorf("right client secret: %v", err)
	}
}
