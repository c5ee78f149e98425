package credential

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entrakit/entrakit/cache"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/oauth"
	"github.com/google/go-cmp/cmp"
)

func TestCodeGrantOnTheWire(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.srv.AddClient(entratest.Client{ID: testClient, Secret: "s3cret-value"})
	code, verifier := f.code(entratest.User{})
	c, err := NewAuthorizationCode(f.srv.TenantID(), testClient, code, testRedirect, &AuthorizationCodeOptions{
		ClientSecret: "s3cret-value", CodeVerifier: verifier, AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.GetTokenInfo(context.Background(), TokenRequestOptions{Scopes: []string{graph, "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/"+f.srv.TenantID()+"/oauth2/v2.0/token" {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
	for k, want := range map[string]string{"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded",
		"User-Agent": oauth.DefaultUserAgent, "Return-Client-Request-Id": "true"} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(r.Header.Get("Client-Request-Id")) {
		t.Errorf("client-request-id = %q", r.Header.Get("Client-Request-Id"))
	}
	want := url.Values{"grant_type": {"authorization_code"}, "client_id": {testClient}, "code": {code},
		"redirect_uri": {testRedirect}, "scope": {graph + " offline_access"}, "client_info": {"1"},
		"client_secret": {"s3cret-value"}, "code_verifier": {verifier}}
	if d := cmp.Diff(want, r.Form); d != "" {
		t.Errorf("form (-want +got):\n%s", d)
	}
	if info.TokenType != "Bearer" || time.Until(info.ExpiresOn) < 59*time.Minute || !info.RefreshOn.IsZero() {
		t.Errorf("info = %v (refresh on %v)", info, info.RefreshOn)
	}

	// A second scope uses the refresh token from the first response.
	get(t, c, scopes(vault))
	rf := f.lastForm()
	if rf.Get("refresh_token") == "" {
		t.Fatal("no refresh token sent")
	}
	rf.Del("refresh_token")
	if d := cmp.Diff(url.Values{"grant_type": {"refresh_token"}, "client_id": {testClient}, "scope": {vault},
		"client_info": {"1"}, "client_secret": {"s3cret-value"}}, rf); d != "" {
		t.Errorf("refresh form (-want +got):\n%s", d)
	}
}

func TestInvalidInputFailsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	cases := map[string]TokenRequestOptions{
		"no scopes":                {},
		"an empty scope":           {Scopes: []string{graph, ""}},
		"a scope with a space":     {Scopes: []string{"a b"}},
		"a scope with a newline":   {Scopes: []string{"a\nb"}},
		"a scope with a quote":     {Scopes: []string{`a"b`}},
		"a malformed tenant":       {Scopes: []string{graph}, TenantID: "../x"},
		"a tenant with a slash":    {Scopes: []string{graph}, TenantID: "a/b"},
		"an encoded dot tenant":    {Scopes: []string{graph}, TenantID: "%2e%2e"},
		"a refused tenant":         {Scopes: []string{graph}, TenantID: "other-tenant"},
		"claims that are not JSON": {Scopes: []string{graph}, Claims: "nope"},
		"claims that are an array": {Scopes: []string{graph}, Claims: "[]", EnableCAE: true},
	}
	for name, opts := range cases {
		_, err := c.GetToken(context.Background(), opts)
		if !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
	if _, err := c.GetToken(context.Background(), TokenRequestOptions{}); err == nil || !strings.Contains(err.Error(), `"GetToken" requires at least one scope`) {
		t.Errorf("no-scope message = %v", err)
	}
	_, err := c.GetToken(context.Background(), TokenRequestOptions{Scopes: []string{graph}, TenantID: "other-tenant"})
	if err == nil || !strings.Contains(err.Error(), "AdditionallyAllowedTenants") {
		t.Errorf("refused tenant message = %v", err)
	}
	if n := f.srv.TokenRequests(); n != 0 {
		t.Errorf("%d token requests for invalid input", n)
	}
}

func TestConstructorValidation(t *testing.T) {
	t.Parallel()
	good := "0123456789012345678901234567890123456789abc"
	cases := []struct {
		name                           string
		tenant, client, code, redirect string
		opts                           *AuthorizationCodeOptions
	}{
		{"empty tenant", "", testClient, "c", testRedirect, nil},
		{"tenant with a slash", "a/b", testClient, "c", testRedirect, nil},
		{"tenant with dots only", "..", testClient, "c", testRedirect, nil},
		{"10 KiB tenant", strings.Repeat("a", 10<<10), testClient, "c", testRedirect, nil},
		{"empty client ID", "t", " ", "c", testRedirect, nil},
		{"empty code", "t", testClient, "", testRedirect, nil},
		{"relative redirect URI", "t", testClient, "c", "/callback", nil},
		{"http authority", "t", testClient, "c", testRedirect, &AuthorizationCodeOptions{AuthorityHost: "http://login.microsoftonline.com"}},
		{"authority with a path", "t", testClient, "c", testRedirect, &AuthorizationCodeOptions{AuthorityHost: "https://h/p"}},
		{"authority with user info", "t", testClient, "c", testRedirect, &AuthorizationCodeOptions{AuthorityHost: "https://u:p@h"}},
		{"short verifier", "t", testClient, "c", testRedirect, &AuthorizationCodeOptions{CodeVerifier: "short"}},
		{"bad allowed tenant", "t", testClient, "c", testRedirect, &AuthorizationCodeOptions{AdditionallyAllowedTenants: []string{"a b"}}},
	}
	for _, tc := range cases {
		if _, err := NewAuthorizationCode(tc.tenant, tc.client, tc.code, tc.redirect, tc.opts); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", tc.name, err)
		}
	}
	if _, err := NewAuthorizationCode("t", testClient, "c", testRedirect, &AuthorizationCodeOptions{CodeVerifier: good, AdditionallyAllowedTenants: []string{"*"}}); err != nil {
		t.Errorf("valid arguments: %v", err)
	}
}

func TestAuthorityHostFromEnvironment(t *testing.T) {
	f := newFixture(t, nil)
	t.Setenv("AZURE_AUTHORITY_HOST", f.srv.URL())
	code, verifier := f.code(entratest.User{})
	c, err := NewAuthorizationCode(f.srv.TenantID(), testClient, code, testRedirect, &AuthorizationCodeOptions{CodeVerifier: verifier, HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	get(t, c, scopes(graph))
	if f.srv.TokenRequests() != 1 {
		t.Error("AZURE_AUTHORITY_HOST was not used")
	}
	t.Setenv("AZURE_AUTHORITY_HOST", "http://insecure.example")
	if _, err := NewAuthorizationCode("t", testClient, "c", testRedirect, nil); !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "AZURE_AUTHORITY_HOST") {
		t.Errorf("invalid AZURE_AUTHORITY_HOST: %v", err)
	}
}

func TestTenantResolution(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.srv.AddTenant("allowed-tenant")
	f.srv.AddTenant("any-tenant")
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.AdditionallyAllowedTenants = []string{"allowed-tenant"} })
	get(t, c, scopes(graph))
	get(t, c, TokenRequestOptions{Scopes: []string{graph}, TenantID: "allowed-tenant"})
	reqs := f.srv.Requests()
	if got := reqs[len(reqs)-1].Path; got != "/allowed-tenant/oauth2/v2.0/token" {
		t.Errorf("allowed tenant request went to %s", got)
	}
	if _, err := c.GetToken(context.Background(), TokenRequestOptions{Scopes: []string{graph}, TenantID: "any-tenant"}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("unlisted tenant: %v", err)
	}

	star := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.AdditionallyAllowedTenants = []string{"*"} })
	get(t, star, TokenRequestOptions{Scopes: []string{graph}, TenantID: "any-tenant"})
	if got := f.srv.Requests(); got[len(got)-1].Path != "/any-tenant/oauth2/v2.0/token" {
		t.Errorf("star: request went to %s", got[len(got)-1].Path)
	}

	code, verifier := f.code(entratest.User{})
	orgs, err := NewAuthorizationCode("organizations", testClient, code, testRedirect,
		&AuthorizationCodeOptions{CodeVerifier: verifier, AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	get(t, orgs, TokenRequestOptions{Scopes: []string{graph}, TenantID: "any-tenant"})
	if got := f.srv.Requests(); got[len(got)-1].Path != "/any-tenant/oauth2/v2.0/token" {
		t.Errorf("organizations rule: request went to %s", got[len(got)-1].Path)
	}
}

func TestDisableMultiTenantAuthPinsTheTenant(t *testing.T) {
	f := newFixture(t, nil)
	t.Setenv("AZURE_IDENTITY_DISABLE_MULTITENANTAUTH", "true")
	c := f.cred(entratest.User{}, nil)
	get(t, c, TokenRequestOptions{Scopes: []string{graph}, TenantID: "some-other-tenant"})
	if p := f.srv.Requests()[0].Path; p != "/"+f.srv.TenantID()+"/oauth2/v2.0/token" {
		t.Errorf("request went to %s, want the credential's own tenant", p)
	}
}

func TestCacheKeyAndClaims(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	a := get(t, c, scopes(graph, "offline_access"))
	if b := get(t, c, scopes("offline_access", graph)); b.Token != a.Token || f.srv.TokenRequests() != 1 {
		t.Errorf("same scope set in another order made a request (%d)", f.srv.TokenRequests())
	}
	cae := get(t, c, TokenRequestOptions{Scopes: []string{graph, "offline_access"}, EnableCAE: true})
	if cae.Token == a.Token || f.srv.TokenRequests() != 2 {
		t.Errorf("CAE request was served the non-CAE token")
	}
	if got := f.lastForm().Get("claims"); got != `{"access_token":{"xms_cc":{"values":["CP1"]}}}` {
		t.Errorf("CAE claims = %q", got)
	}
	if again := get(t, c, TokenRequestOptions{Scopes: []string{graph, "offline_access"}, EnableCAE: true}); again.Token != cae.Token || f.srv.TokenRequests() != 2 {
		t.Error("the CAE token was not cached separately")
	}
	if plain := get(t, c, scopes(graph, "offline_access")); plain.Token != a.Token {
		t.Error("the non-CAE token was replaced by the CAE one")
	}
	// Claims skip the cache read and are merged with CAE.
	claims := `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`
	withClaims := get(t, c, TokenRequestOptions{Scopes: []string{graph, "offline_access"}, Claims: claims, EnableCAE: true})
	if f.srv.TokenRequests() != 3 || withClaims.Token == cae.Token {
		t.Errorf("a request with claims was served from the cache")
	}
	if got := f.lastForm().Get("claims"); got != `{"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["CP1"]}}}` {
		t.Errorf("merged claims = %q", got)
	}
}

func TestRefreshDecision(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{AccessTokenLifetime: time.Hour})
	c := f.cred(entratest.User{}, nil)
	first := get(t, c, scopes(graph))
	requests := func() int { return f.srv.TokenRequests() }

	f.clock.Advance(54 * time.Minute) // 6 minutes left: fresh
	if tok := get(t, c, scopes(graph)); tok.Token != first.Token || requests() != 1 {
		t.Fatal("a fresh token was refreshed")
	}
	f.clock.Advance(2 * time.Minute) // 4 minutes left: refresh recommended
	second := get(t, c, scopes(graph))
	if second.Token == first.Token || requests() != 2 {
		t.Fatal("no refresh within 5 minutes of expiry")
	}

	// A failed recommended refresh returns the still-valid cached token, then the 30 s
	// throttle keeps the next caller on the cache.
	f.clock.Advance(56 * time.Minute)
	f.srv.FailNext(entratest.Fault{Status: 400, Body: `{"error":"temporarily_unavailable"}`})
	if tok := get(t, c, scopes(graph)); tok.Token != second.Token || requests() != 3 {
		t.Fatalf("failed recommended refresh: token changed or %d requests", requests())
	}
	f.clock.Advance(10 * time.Second)
	if tok := get(t, c, scopes(graph)); tok.Token != second.Token || requests() != 3 {
		t.Fatalf("within 30 s of an attempt a refresh was tried (%d requests)", requests())
	}
	f.clock.Advance(25 * time.Second)
	third := get(t, c, scopes(graph))
	if third.Token == second.Token || requests() != 4 {
		t.Fatalf("after 30 s no refresh was tried (%d requests)", requests())
	}

	// Expired: must fetch, and errors are returned.
	f.clock.Advance(2 * time.Hour)
	f.srv.FailNext(entratest.Fault{Status: 400, Body: `{"error":"temporarily_unavailable"}`})
	if _, err := c.GetToken(context.Background(), scopes(graph)); err == nil {
		t.Fatal("expired token and failed refresh gave no error")
	}
	if tok := get(t, c, scopes(graph)); tok.Token == third.Token || requests() != 6 {
		t.Fatalf("expired token not refreshed (%d requests)", requests())
	}
}

func TestRefreshOnFromServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{AccessTokenLifetime: 24 * time.Hour, RefreshIn: 2 * time.Hour})
	c := f.cred(entratest.User{}, nil)
	info, err := c.GetTokenInfo(context.Background(), scopes(graph))
	if err != nil {
		t.Fatal(err)
	}
	if d := info.RefreshOn.Sub(f.clock.Now()); d != 2*time.Hour {
		t.Errorf("RefreshOn in %v, want 2h", d)
	}
	f.clock.Advance(2*time.Hour + time.Second)
	if again, _ := c.GetTokenInfo(context.Background(), scopes(graph)); again.Token == info.Token {
		t.Error("no refresh past RefreshOn")
	}

	// Without refresh_in, a lifetime of 2 hours or more refreshes at half of it.
	g := newFixture(t, &entratest.Options{AccessTokenLifetime: 4 * time.Hour})
	info, _ = g.cred(entratest.User{}, nil).GetTokenInfo(context.Background(), scopes(graph))
	if d := info.RefreshOn.Sub(g.clock.Now()); d != 2*time.Hour {
		t.Errorf("half-life RefreshOn in %v, want 2h", d)
	}
}

func TestExpiryFromJWTAndStringLifetimes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{OmitExpiry: true, AccessTokenLifetime: 90 * time.Minute})
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Now = nil })
	tok := get(t, c, scopes(graph))
	if d := time.Until(tok.ExpiresOn); d < 89*time.Minute || d > 91*time.Minute {
		t.Errorf("expiry from the JWT exp is %v away, want ~90m", d)
	}
	g := newFixture(t, &entratest.Options{ExpiresInAsString: true, RefreshIn: 10 * time.Minute})
	info, err := g.cred(entratest.User{}, nil).GetTokenInfo(context.Background(), scopes(graph))
	if err != nil || info.ExpiresOn.Sub(g.clock.Now()) != time.Hour || info.RefreshOn.Sub(g.clock.Now()) != 10*time.Minute {
		t.Errorf("string lifetimes: %v %v", info, err)
	}
	h := newFixture(t, &entratest.Options{ExpiresOn: true})
	if tok, err := h.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Now = nil }).GetToken(context.Background(), scopes(graph)); err != nil || time.Until(tok.ExpiresOn) < 59*time.Minute {
		t.Errorf("expires_on: %v %v", tok, err)
	}
}

func TestCodeIsKeptUntilARedemptionSucceeds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	f.srv.FailNext(entratest.Fault{Status: 400, Body: `{"error":"invalid_request","error_codes":[9002313]}`})
	if _, err := c.GetToken(context.Background(), scopes(graph)); err == nil {
		t.Fatal("want the failed redemption's error")
	}
	get(t, c, scopes(graph))
	forms := f.tokenForms()
	if len(forms) != 2 || forms[0].Get("code") == "" || forms[1].Get("code") != forms[0].Get("code") {
		t.Fatalf("second attempt did not resend the same code: %v", forms)
	}
	get(t, c, scopes(vault))
	if forms := f.tokenForms(); forms[2].Get("grant_type") != "refresh_token" || forms[2].Get("code") != "" {
		t.Errorf("the code was used again after it was redeemed")
	}
}

func TestAccountBindingWithASharedCache(t *testing.T) {
	t.Parallel()
	for _, noClientInfo := range []bool{false, true} {
		f := newFixture(t, &entratest.Options{NoClientInfo: noClientInfo})
		f.srv.AddUser(bob)
		shared, _ := cache.New(nil)
		alice := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Cache = shared })
		a := get(t, alice, scopes(graph))
		b := f.cred(bob, func(o *AuthorizationCodeOptions) { o.Cache = shared })
		bt := get(t, b, scopes(graph))
		if bt.Token == a.Token || oid(t, bt.Token) != bob.ObjectID || f.srv.TokenRequests() != 2 {
			t.Fatalf("client_info off=%v: an unredeemed code was satisfied from another account's cache entry", noClientInfo)
		}
		if again := get(t, b, scopes(graph)); again.Token != bt.Token || f.srv.TokenRequests() != 2 {
			t.Errorf("client_info off=%v: the second call was not served from bob's cache entry", noClientInfo)
		}
		if v := get(t, b, scopes(vault)); oid(t, v.Token) != bob.ObjectID {
			t.Errorf("client_info off=%v: bob's refresh used another account's refresh token", noClientInfo)
		}
		if v := get(t, alice, scopes(vault)); oid(t, v.Token) != entratest.DefaultUser.ObjectID {
			t.Errorf("client_info off=%v: alice got bob's token", noClientInfo)
		}
	}
}

func TestRefreshTokenRotationAndOtherTenants(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{StrictRotation: true})
	f.srv.AddTenant("second-tenant")
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.AdditionallyAllowedTenants = []string{"second-tenant"} })
	get(t, c, scopes(graph))
	for _, s := range []string{vault, "https://management.azure.com/.default", "https://storage.azure.com/.default"} {
		get(t, c, scopes(s)) // strict rotation: only the newest refresh token works
	}
	get(t, c, TokenRequestOptions{Scopes: []string{graph}, TenantID: "second-tenant"})
	forms := f.tokenForms()
	if len(forms) != 5 {
		t.Fatalf("%d token requests, want 5", len(forms))
	}
	seen := map[string]bool{}
	for _, fm := range forms[1:] {
		rt := fm.Get("refresh_token")
		if rt == "" || seen[rt] {
			t.Errorf("refresh token reused or missing: %q", rt)
		}
		seen[rt] = true
	}
}

func TestInvalidGrantEvictsTheRefreshToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	get(t, c, scopes(graph))
	f.srv.RevokeRefreshTokens()
	_, err := c.GetToken(context.Background(), scopes(vault))
	var af *AuthenticationFailedError
	if !errors.As(err, &af) || af.ErrorCode != "invalid_grant" {
		t.Fatalf("err = %v, want invalid_grant", err)
	}
	before := f.srv.TokenRequests()
	_, err = c.GetToken(context.Background(), scopes(vault))
	if err == nil || !strings.Contains(err.Error(), "no authorization code, cached access token, or refresh token available") || f.srv.TokenRequests() != before {
		t.Errorf("after eviction: err = %v, %d new requests", err, f.srv.TokenRequests()-before)
	}
	if tok := get(t, c, scopes(graph)); tok.Token == "" {
		t.Error("the cached access token should still be served")
	}
}

func TestCloseAndAdapters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	ts := TokenSource(context.Background(), c, scopes(graph))
	ot, err := ts.Token()
	if err != nil || ot.AccessToken == "" || ot.TokenType != "Bearer" || ot.Expiry.IsZero() {
		t.Fatalf("TokenSource.Token = %v, %v", ot, err)
	}
	if again, _ := ts.Token(); again.AccessToken != ot.AccessToken || f.srv.TokenRequests() != 1 {
		t.Error("TokenSource does not reuse the cached token")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if _, err := c.GetToken(context.Background(), scopes(graph)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestGetTokenInfoCarriesTokenType(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	info, err := c.GetTokenInfo(context.Background(), scopes(graph))
	tok := get(t, c, scopes(graph))
	if err != nil || info.Token != tok.Token || !info.ExpiresOn.Equal(tok.ExpiresOn) || info.TokenType != "Bearer" {
		t.Errorf("GetTokenInfo = %v, %v; GetToken = %v", info, err, tok)
	}
	if slices.Contains([]string{info.Token}, "") {
		t.Error("empty token")
	}
}

func TestAClaimsChallengeKeepsTheRefreshToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	get(t, c, scopes(graph))
	f.srv.RequireClaims(entratest.User{})
	_, err := c.GetToken(context.Background(), TokenRequestOptions{Scopes: []string{vault}, EnableCAE: true})
	var af *AuthenticationFailedError
	if !errors.As(err, &af) || af.ErrorCode != "invalid_grant" || af.Claims == "" {
		t.Fatalf("err = %v, want invalid_grant with a claims challenge", err)
	}
	if _, err := c.GetToken(context.Background(), TokenRequestOptions{Scopes: []string{vault}, EnableCAE: true, Claims: af.Claims}); err != nil {
		t.Errorf("answering the challenge: %v (the refresh token must survive a claims challenge)", err)
	}
	if got := f.lastForm().Get("claims"); !strings.Contains(got, "capolids") || !strings.Contains(got, "CP1") {
		t.Errorf("claims sent = %q, want the challenge merged with CP1", got)
	}
}

type ctxKey struct{}

// ctxSpy records, for each request, the value of ctxKey and whether the request's context has a
// deadline.
type ctxSpy struct {
	base   http.RoundTripper
	values []any
	bound  []bool
}

func (s *ctxSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	_, ok := r.Context().Deadline()
	s.values, s.bound = append(s.values, r.Context().Value(ctxKey{})), append(s.bound, ok)
	return s.base.RoundTrip(r)
}

// A TokenSource made under a context that has ended still gets tokens (golang/oauth2#388),
// under that context's values and a bound of its own.
func TestTokenSourceOutlivesItsContext(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	spy := &ctxSpy{base: f.srv.Client().Transport}
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.HTTPClient = &http.Client{Transport: spy} })
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "mine"))
	ts := TokenSource(ctx, c, scopes(graph))
	cancel()
	first, err := ts.Token()
	if err != nil {
		t.Fatalf("the first Token after the context ended: %v", err)
	}
	f.clock.Advance(2 * time.Hour) // expired: the next call refreshes
	second, err := ts.Token()
	if err != nil {
		t.Fatalf("a refresh after the context ended: %v", err)
	}
	if second.AccessToken == first.AccessToken || len(spy.values) != 2 {
		t.Fatalf("%d requests, want a redemption and a refresh", len(spy.values))
	}
	for i := range spy.values {
		if spy.values[i] != "mine" || !spy.bound[i] {
			t.Errorf("request %d: value %v, deadline %v; want the context's value under a deadline", i, spy.values[i], spy.bound[i])
		}
	}
}

// One home account ID in two clouds (two authority hosts) is two accounts in a shared cache:
// neither cloud's credential is served the other's tokens.
func TestTwoCloudsOneHomeAccountNeverCollide(t *testing.T) {
	t.Parallel()
	shared, _ := cache.New(nil)
	one, two := newFixture(t, nil), newFixture(t, nil) // same tenant, same user, two hosts
	a := one.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Cache = shared })
	b := two.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Cache = shared })
	at, bt := get(t, a, scopes(graph)), get(t, b, scopes(graph))
	if at.Token == bt.Token || one.srv.TokenRequests() != 1 || two.srv.TokenRequests() != 1 {
		t.Fatalf("the second cloud was served the first's token (%d, %d requests)", one.srv.TokenRequests(), two.srv.TokenRequests())
	}
	if again := get(t, a, scopes(graph)); again.Token != at.Token {
		t.Error("the first cloud's token was replaced by the second's")
	}
	accounts := shared.Accounts()
	if len(accounts) != 2 || accounts[0].HomeAccountID != accounts[1].HomeAccountID || accounts[0].Environment == accounts[1].Environment {
		t.Errorf("accounts = %+v, want one home account ID in two environments", accounts)
	}
}
