package signin

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/oauth"
)

const (
	testClient = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	graph      = "https://graph.microsoft.com/.default"
)

var bob = entratest.User{ObjectID: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", Username: "bob@contoso.example", Name: "Bob"}

func newFake(t *testing.T) *entratest.Server {
	t.Helper()
	srv := entratest.NewServer(&entratest.Options{RequirePKCE: true})
	t.Cleanup(srv.Close)
	srv.AddUser(bob)
	return srv
}

func testConfig(srv *entratest.Server) Config {
	return Config{ClientID: testClient, TenantID: srv.TenantID(), Scopes: []string{graph}, AuthorityHost: srv.URL(), HTTPClient: srv.Client()}
}

// authorize plays the browser at the fake's authorize endpoint and returns the callback URL it
// redirects to.
func authorize(t *testing.T, srv *entratest.Server, authorizeURL string) *url.URL {
	t.Helper()
	browser := *srv.Client() // a copy: the fake's client is shared
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc
}

func TestTheAuthorizeRequest(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	cfg := testConfig(srv)
	req, err := cfg.NewRequest(&RequestOptions{RedirectURI: "http://localhost:8400/cb", Prompt: "select_account", LoginHint: "bob@contoso.example",
		DomainHint: "contoso.example", Claims: `{"id_token":{"auth_time":{"essential":true}}}`})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(req.URL)
	q := u.Query()
	want := map[string]string{
		"client_id": testClient, "response_type": "code", "response_mode": "query", "redirect_uri": "http://localhost:8400/cb",
		"scope": "openid profile offline_access " + graph, "code_challenge_method": "S256", "code_challenge": oauth.S256Challenge(req.verifier),
		"state": req.state, "nonce": req.nonce, "prompt": "select_account", "login_hint": "bob@contoso.example",
		"domain_hint": "contoso.example", "claims": `{"id_token":{"auth_time":{"essential":true}}}`,
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if u.Scheme+"://"+u.Host+u.Path != srv.AuthorizeURL(srv.TenantID()) {
		t.Errorf("authorize endpoint %s", u.Path)
	}
	if len(req.state) < 20 || len(req.nonce) < 20 || req.state == req.nonce || strings.Contains(req.URL, req.verifier) {
		t.Error("state and nonce must be long random values, and the verifier must stay out of the URL")
	}
	other, _ := cfg.NewRequest(&RequestOptions{RedirectURI: "http://localhost:8400/cb"})
	if other.state == req.state || other.verifier == req.verifier {
		t.Error("a second request reused the state or verifier")
	}
}

func TestConfigurationErrorsAreInvalidInput(t *testing.T) {
	t.Parallel()
	base := Config{ClientID: testClient, Scopes: []string{graph}}
	cases := []struct {
		name string
		mod  func(*Config, *RequestOptions)
	}{
		{"no client ID", func(c *Config, _ *RequestOptions) { c.ClientID = "" }},
		{"a tenant with a slash", func(c *Config, _ *RequestOptions) { c.TenantID = "contoso/../x" }},
		{"an http authority", func(c *Config, _ *RequestOptions) { c.AuthorityHost = "http://login.example" }},
		{"a scope with a space", func(c *Config, _ *RequestOptions) { c.Scopes = []string{"a b"} }},
		{"claims that are not an object", func(_ *Config, o *RequestOptions) { o.Claims = "[1]" }},
		{"no redirect URI", func(_ *Config, o *RequestOptions) { o.RedirectURI = "" }},
		{"a redirect URI with a fragment", func(_ *Config, o *RequestOptions) { o.RedirectURI = "https://app/cb#x" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, o := base, RequestOptions{RedirectURI: "https://app.example/cb"}
			tc.mod(&c, &o)
			if _, err := c.NewRequest(&o); !errors.Is(err, credential.ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
}

func TestTheCallbackChecksStateOnceAndTheNonce(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	cfg := testConfig(srv)
	newReq := func() *Request {
		req, err := cfg.NewRequest(&RequestOptions{RedirectURI: "http://localhost:8400/cb", LoginHint: bob.Username})
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	ctx := context.Background()

	req := newReq()
	back := authorize(t, srv, req.URL).Query()
	forged := url.Values{"code": back["code"], "state": {"forged"}}
	if _, err := req.Finish(ctx, forged); !errors.Is(err, ErrStateMismatch) {
		t.Errorf("forged state: %v", err)
	}
	if _, err := req.Finish(ctx, url.Values{"code": back["code"]}); !errors.Is(err, ErrStateMismatch) {
		t.Errorf("missing state: %v", err)
	}
	res, err := req.Finish(ctx, back) // the forged and missing ones changed nothing
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.Username != bob.Username || res.Account.TenantID != srv.TenantID() || res.Token.Token == "" {
		t.Errorf("signed in as %+v", res.Account)
	}
	if a, ok := res.Credential.Account(); !ok || a.HomeAccountID != res.Account.HomeAccountID {
		t.Errorf("the credential is not bound to the account: %+v", a)
	}
	if _, err := req.Finish(ctx, back); !errors.Is(err, ErrStateUsed) {
		t.Errorf("replayed state: %v", err)
	}

	// A code issued for another sign-in (its nonce) is refused, even with this one's state.
	req = newReq()
	stranger := srv.IssueCode(entratest.CodeRequest{ClientID: testClient, RedirectURI: "http://localhost:8400/cb", Scopes: OpenIDScopes,
		CodeChallenge: oauth.S256Challenge(req.verifier), User: bob, Nonce: "another-sign-in"})
	if _, err := req.Finish(ctx, url.Values{"code": {stranger}, "state": {req.state}}); !errors.Is(err, credential.ErrNonceMismatch) {
		t.Errorf("a code with another nonce: %v", err)
	}

	// Entra's refusal is a typed error.
	req = newReq()
	_, err = req.Finish(ctx, url.Values{"state": {req.state}, "error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent.\r\nTrace ID: x"}})
	var ae *AuthorizeError
	if !errors.As(err, &ae) || ae.Code != "access_denied" || ae.Description != "AADSTS65004: User declined to consent." {
		t.Errorf("refusal: %v", err)
	}
}

// browserFor returns an OpenBrowser that behaves as a browser would with what Loopback gives it
// (reading the private file, following its redirect to the fake, and then the fake's redirect to
// the callback), and records what it was given.
type fakeBrowser struct {
	t      *testing.T
	srv    *entratest.Server
	before func(callback *url.URL) bool // runs before the real callback; false skips it
	mu     sync.Mutex
	opened []string
	mode   os.FileMode
	pages  []string
}

func (b *fakeBrowser) open(fileURL string) error {
	b.mu.Lock()
	b.opened = append(b.opened, fileURL)
	b.mu.Unlock()
	u, err := url.Parse(fileURL)
	if err != nil || u.Scheme != "file" {
		b.t.Errorf("the browser was given %q, not a file URL", fileURL)
		return nil
	}
	fi, err := os.Stat(u.Path)
	if err != nil {
		return err
	}
	dir, _ := os.Stat(strings.TrimSuffix(u.Path, "/signin.html"))
	b.mode = fi.Mode().Perm() | dir.Mode().Perm()<<9
	page, _ := os.ReadFile(u.Path)
	m := regexp.MustCompile(`url=([^"]+)"`).FindSubmatch(page)
	if m == nil {
		b.t.Errorf("no redirect in %s", page)
		return nil
	}
	authorizeURL := html.UnescapeString(string(m[1]))
	go func() {
		callback := authorize(b.t, b.srv, authorizeURL)
		if b.before != nil && !b.before(callback) {
			return
		}
		resp, err := http.Get(callback.String())
		if err != nil {
			b.t.Error(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		b.mu.Lock()
		b.pages = append(b.pages, string(body))
		b.mu.Unlock()
	}()
	return nil
}
