package credential

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/entrakit/entrakit/oauth"
)

// counter is a TLS server that answers every request with a fixed status and body and counts
// the requests.
type counter struct {
	srv   *httptest.Server
	calls atomic.Int32
}

func newCounter(t *testing.T, status int, ctype, body string) *counter {
	t.Helper()
	c := &counter{}
	c.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.calls.Add(1)
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// TestHostileInput drives constructors, options, environment variables and server answers with
// hostile values. Each must give a typed error (and never panic); invalid input must make no
// request.
func TestHostileInput(t *testing.T) {
	verifier := strings.Repeat("v", 43)
	type ctorCase struct {
		name                           string
		tenant, client, code, redirect string
		opts                           AuthorizationCodeOptions
	}
	ok := func(name string, mod func(*ctorCase)) ctorCase {
		c := ctorCase{name: name, tenant: "contoso.onmicrosoft.com", client: testClient, code: "code", redirect: testRedirect}
		mod(&c)
		return c
	}
	ctors := []ctorCase{
		ok("tenant ../x", func(c *ctorCase) { c.tenant = "../x" }),
		ok("tenant a/b", func(c *ctorCase) { c.tenant = "a/b" }),
		ok("tenant %2e%2e", func(c *ctorCase) { c.tenant = "%2e%2e" }),
		ok("empty tenant", func(c *ctorCase) { c.tenant = "" }),
		ok("10 KiB tenant", func(c *ctorCase) { c.tenant = strings.Repeat("a", 10<<10) }),
		ok("tenant a..b", func(c *ctorCase) { c.tenant = "a..b" }),
		ok("tenant with a leading dot", func(c *ctorCase) { c.tenant = ".a" }),
		ok("tenant with a trailing dot", func(c *ctorCase) { c.tenant = "a." }),
		ok("tenant with NUL", func(c *ctorCase) { c.tenant = "a\x00b" }),
		ok("tenant with non-ASCII letters", func(c *ctorCase) { c.tenant = "tenänt" }),
		ok("tenant with a query", func(c *ctorCase) { c.tenant = "a?x=1" }),
		ok("tenant with a fragment", func(c *ctorCase) { c.tenant = "a#b" }),
		ok("tenant with a space", func(c *ctorCase) { c.tenant = "a b" }),
		ok("authority http://", func(c *ctorCase) { c.opts.AuthorityHost = "http://login.microsoftonline.com" }),
		ok("authority with user info", func(c *ctorCase) { c.opts.AuthorityHost = "https://user:pw@login.microsoftonline.com" }),
		ok("authority with a path", func(c *ctorCase) { c.opts.AuthorityHost = "https://login.microsoftonline.com/evil" }),
		ok("authority with a query", func(c *ctorCase) { c.opts.AuthorityHost = "https://login.microsoftonline.com?a=b" }),
		ok("authority with a fragment", func(c *ctorCase) { c.opts.AuthorityHost = "https://login.microsoftonline.com#f" }),
		ok("authority with non-ASCII", func(c *ctorCase) { c.opts.AuthorityHost = "https://lögin.microsoftonline.com" }),
		ok("authority ftp://", func(c *ctorCase) { c.opts.AuthorityHost = "ftp://x" }),
		ok("authority https:// alone", func(c *ctorCase) { c.opts.AuthorityHost = "https://" }),
		ok("authority with a bad port", func(c *ctorCase) { c.opts.AuthorityHost = "https://h:99999" }),
		ok("authority with a newline", func(c *ctorCase) { c.opts.AuthorityHost = "https://h\n.example" }),
		ok("empty client ID", func(c *ctorCase) { c.client = "" }),
		ok("client ID with a newline", func(c *ctorCase) { c.client = "a\nb" }),
		ok("empty code", func(c *ctorCase) { c.code = "" }),
		ok("code with a space", func(c *ctorCase) { c.code = "a b" }),
		ok("empty redirect URI", func(c *ctorCase) { c.redirect = "" }),
		ok("relative redirect URI", func(c *ctorCase) { c.redirect = "/cb" }),
		ok("redirect URI with a fragment", func(c *ctorCase) { c.redirect = "https://app/cb#x" }),
		ok("verifier too short", func(c *ctorCase) { c.opts.CodeVerifier = "short" }),
		ok("verifier too long", func(c *ctorCase) { c.opts.CodeVerifier = strings.Repeat("v", 129) }),
		ok("verifier with a space", func(c *ctorCase) { c.opts.CodeVerifier = verifier[:42] + " " }),
		ok("allowed tenant a/b", func(c *ctorCase) { c.opts.AdditionallyAllowedTenants = []string{"a/b"} }),
	}
	for _, tc := range ctors {
		t.Run("constructor: "+tc.name, func(t *testing.T) {
			_, err := NewAuthorizationCode(tc.tenant, tc.client, tc.code, tc.redirect, &tc.opts)
			if !errors.Is(err, ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}

	for _, env := range []struct{ name, value string }{
		{"AZURE_AUTHORITY_HOST http://", "http://evil.example"},
		{"AZURE_AUTHORITY_HOST with a path", "https://login.microsoftonline.com/x"},
		{"AZURE_AUTHORITY_HOST not a URL", "::::"},
		{"AZURE_AUTHORITY_HOST with user info", "https://a@b"},
	} {
		t.Run("environment: "+env.name, func(t *testing.T) {
			t.Setenv("AZURE_AUTHORITY_HOST", env.value)
			_, err := NewAuthorizationCode("t", testClient, "c", testRedirect, nil)
			if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "AZURE_AUTHORITY_HOST") {
				t.Errorf("err = %v", err)
			}
		})
	}

	// Request options: a real credential against a server that would answer, which must never
	// be asked.
	srv := newCounter(t, 200, "application/json", `{"access_token":"a","expires_in":3600}`)
	c, err := NewAuthorizationCode("home", testClient, "code", testRedirect, &AuthorizationCodeOptions{AuthorityHost: srv.srv.URL, HTTPClient: srv.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	requests := map[string]TokenRequestOptions{
		"no scopes":                        {},
		"empty scope":                      {Scopes: []string{""}},
		"scope with a space":               {Scopes: []string{"a b"}},
		"scope with a newline":             {Scopes: []string{"a\nb"}},
		"scope with a tab":                 {Scopes: []string{"a\tb"}},
		"scope with NUL":                   {Scopes: []string{"a\x00"}},
		"scope with a quote":               {Scopes: []string{`a"`}},
		"scope with a backslash":           {Scopes: []string{`a\b`}},
		"scope with non-ASCII":             {Scopes: []string{"scöpe"}},
		"2 KiB scope":                      {Scopes: []string{strings.Repeat("s", 2048)}},
		"request tenant ../x":              {Scopes: []string{"s"}, TenantID: "../x"},
		"request tenant a/b":               {Scopes: []string{"s"}, TenantID: "a/b"},
		"request tenant %2e%2e":            {Scopes: []string{"s"}, TenantID: "%2e%2e"},
		"request tenant 10 KiB":            {Scopes: []string{"s"}, TenantID: strings.Repeat("t", 10<<10)},
		"request tenant not allowed":       {Scopes: []string{"s"}, TenantID: "elsewhere"},
		"claims not JSON":                  {Scopes: []string{"s"}, Claims: "claims"},
		"claims a JSON array":              {Scopes: []string{"s"}, Claims: "[]"},
		"claims null":                      {Scopes: []string{"s"}, Claims: "null"},
		"claims a number":                  {Scopes: []string{"s"}, Claims: "5"},
		"claims with a stray brace":        {Scopes: []string{"s"}, Claims: "{}}"},
		"CAE with claims not JSON":         {Scopes: []string{"s"}, Claims: "{", EnableCAE: true},
		"CAE with access_token not object": {Scopes: []string{"s"}, Claims: `{"access_token":[1]}`, EnableCAE: true},
	}
	for name, opts := range requests {
		t.Run("request: "+name, func(t *testing.T) {
			if _, err := c.GetToken(context.Background(), opts); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
	if n := srv.calls.Load(); n != 0 {
		t.Errorf("invalid input made %d requests", n)
	}

	// Server answers: each gives an *AuthenticationFailedError.
	answers := []struct {
		name, ctype, body string
		status            int
		malformed         bool
	}{
		{"expires_in negative", "application/json", `{"access_token":"a","expires_in":-1}`, 200, true},
		{"expires_in zero", "application/json", `{"access_token":"a","expires_in":0}`, 200, true},
		{"expires_in huge", "application/json", `{"access_token":"a","expires_in":99999999999}`, 200, true},
		{"expires_in a float", "application/json", `{"access_token":"a","expires_in":3599.9}`, 200, true},
		{"expires_in a word", "application/json", `{"access_token":"a","expires_in":"an hour"}`, 200, true},
		{"expires_in an object", "application/json", `{"access_token":"a","expires_in":{}}`, 200, true},
		{"expires_on in the past", "application/json", `{"access_token":"a","expires_on":1}`, 200, true},
		{"no expiry and no JWT", "application/json", `{"access_token":"opaque"}`, 200, true},
		{"refresh_in negative", "application/json", `{"access_token":"a","expires_in":60,"refresh_in":-5}`, 200, true},
		{"2 MiB body", "application/json", `{"access_token":"` + strings.Repeat("a", 2<<20) + `"}`, 200, true},
		{"JSON array body", "application/json", `[{"access_token":"a"}]`, 200, true},
		{"JSON string body", "application/json", `"token"`, 200, true},
		{"null body", "application/json", `null`, 200, true},
		{"duplicate keys", "application/json", `{"access_token":"a","expires_in":60,"access_token":"b"}`, 200, true},
		{"NUL in the access token", "application/json", `{"access_token":"a\u0000b","expires_in":60}`, 200, true},
		{"CRLF in the access token", "application/json", `{"access_token":"a\r\nSet-Cookie: x","expires_in":60}`, 200, true},
		{"access token a number", "application/json", `{"access_token":5,"expires_in":60}`, 200, true},
		{"token_type with NUL", "application/json", `{"access_token":"a","token_type":"Bea\u0000rer","expires_in":60}`, 200, true},
		{"NUL byte in the body", "application/json", "{\"access_token\":\"a\"\x00}", 200, true},
		{"deep nesting", "application/json", strings.Repeat("[", 100000), 200, true},
		{"empty 200", "", ``, 200, true},
		{"HTML 200", "text/html", `<html>signed in</html>`, 200, true},
		{"truncated JSON", "application/json", `{"access_token":"a","expi`, 200, true},
		{"error as a number", "application/json", `{"error":5}`, 400, true},
		{"huge error description", "application/json", `{"error":"invalid_grant","error_description":"` + strings.Repeat("x", 900<<10) + `"}`, 400, false},
		{"error codes of the wrong type", "application/json", `{"error":"invalid_grant","error_codes":"many","trace_id":[1]}`, 400, false},
	}
	for _, a := range answers {
		t.Run("answer: "+a.name, func(t *testing.T) {
			t.Parallel()
			s := newCounter(t, a.status, a.ctype, a.body)
			cred, err := NewAuthorizationCode("home", testClient, "code", testRedirect, &AuthorizationCodeOptions{AuthorityHost: s.srv.URL, HTTPClient: s.srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			defer cred.Close()
			_, err = cred.GetToken(context.Background(), scopes("s"))
			var af *AuthenticationFailedError
			if !errors.As(err, &af) {
				t.Fatalf("err = %v (%T), want *AuthenticationFailedError", err, err)
			}
			if a.malformed && !errors.Is(err, oauth.ErrMalformedResponse) && !errors.Is(err, oauth.ErrBodyTooLarge) {
				t.Errorf("err = %v, want a malformed-response cause", err)
			}
			if len(err.Error()) > 4096 {
				t.Errorf("error message is %d bytes long", len(err.Error()))
			}
		})
	}
}
