package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/oauth"
)

const demoClientID = "5b1f8f3e-7c2a-4e8d-9b6a-1c0d2e3f4a5b"
const demoRedirect = "http://127.0.0.1:8400/callback"

// demoFakeAddr is where the demo's fake Entra listens when --cache is given.
const demoFakeAddr = "127.0.0.1:47291"

// demoClock lets the demo jump forward in time to show a refresh without waiting an hour.
type demoClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *demoClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "Runs the authorization-code flow with PKCE, a cached call and a refresh against an\nin-process fake Entra ID, and prints each result as JSON.", stderr)
	showToken := fs.Bool("show-token", false, "print the access tokens too")
	cachePath := fs.String("cache", "", "persist tokens in this file; a later run with the same file reuses them without signing in")
	var scopes scopeList
	fs.Var(&scopes, "scope", "a scope to request (repeatable; default https://graph.microsoft.com/.default)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(scopes) == 0 {
		scopes = scopeList{"https://graph.microsoft.com/.default"}
	}

	var tokenCache *cache.Cache
	fakeAddr := ""
	if *cachePath != "" {
		var err error
		if tokenCache, err = openCache(*cachePath); err != nil {
			return err
		}
		// A fixed address keeps the fake's authority host, and so the cache keys, the same
		// from run to run.
		fakeAddr = demoFakeAddr
		ln, err := net.Listen("tcp", fakeAddr)
		if err != nil {
			return fmt.Errorf("--cache needs the demo's fixed address %s: %w", fakeAddr, err)
		}
		ln.Close()
	}
	srv := entratest.NewServer(&entratest.Options{StrictRotation: true, RequirePKCE: true, Addr: fakeAddr})
	defer srv.Close()
	clock := &demoClock{}

	if tokenCache != nil {
		if account, ok := cachedAccount(tokenCache, srv.Host()); ok {
			// An earlier run signed in: reuse its token, no sign-in.
			cred, err := credential.NewFromCache(srv.TenantID(), demoClientID, account, &credential.RefreshTokenOptions{
				Cache: tokenCache, AuthorityHost: srv.URL(), HTTPClient: srv.Client()})
			if err != nil {
				return err
			}
			defer cred.Close()
			info, err := cred.GetTokenInfo(ctx, credential.TokenRequestOptions{Scopes: scopes})
			if err == nil {
				n := srv.TokenRequests()
				out := tokenJSON{Step: "reused from " + *cachePath, TokenType: info.TokenType, ExpiresOn: timeString(info.ExpiresOn),
					RefreshOn: timeString(info.RefreshOn), Scopes: scopes, Source: "cache", Requests: &n}
				if *showToken {
					out.AccessToken = info.Token
				}
				return printJSON(stdout, out)
			}
			fmt.Fprintf(stderr, "the cached sign-in could not be used (%v); signing in again\n", err)
		}
	}

	// 1. The browser's part: the authorize request with a PKCE challenge and a state.
	verifier := oauth.NewVerifier()
	state := rand.Text()
	q := url.Values{
		"client_id": {demoClientID}, "response_type": {"code"}, "redirect_uri": {demoRedirect},
		"scope": {"openid offline_access " + strings.Join(scopes, " ")}, "state": {state},
		"code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	browser := srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.AuthorizeURL(srv.TenantID())+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := browser.Do(req)
	if err != nil {
		return fmt.Errorf("authorize request: %w", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		return fmt.Errorf("authorize answered %d without a redirect", resp.StatusCode)
	}
	back := loc.Query()
	if e := back.Get("error"); e != "" {
		return fmt.Errorf("authorize refused: %s: %s", e, back.Get("error_description"))
	}
	if subtle.ConstantTimeCompare([]byte(back.Get("state")), []byte(state)) != 1 {
		return errors.New("the state in the redirect does not match: possible CSRF")
	}
	if err := printJSON(stdout, map[string]any{"step": "authorize", "redirected_to": loc.Scheme + "://" + loc.Host + loc.Path,
		"state_matches": true, "code_challenge_method": "S256"}); err != nil {
		return err
	}

	// 2. The app's part: redeem the code, then use the credential.
	cred, err := credential.NewAuthorizationCode(srv.TenantID(), demoClientID, back.Get("code"), demoRedirect,
		&credential.AuthorizationCodeOptions{CodeVerifier: verifier, AuthorityHost: srv.URL(), HTTPClient: srv.Client(), Now: clock.Now, Cache: tokenCache})
	if err != nil {
		return err
	}
	defer cred.Close()
	opts := credential.TokenRequestOptions{Scopes: scopes}
	step := func(name, grant string) error {
		before := srv.TokenRequests()
		info, err := cred.GetTokenInfo(ctx, opts)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		n := srv.TokenRequests()
		source := "network"
		if n == before {
			source, grant = "cache", ""
		}
		out := tokenJSON{Step: name, TokenType: info.TokenType, ExpiresOn: timeString(info.ExpiresOn), RefreshOn: timeString(info.RefreshOn),
			Scopes: scopes, Source: source, Grant: grant, Requests: &n}
		if *showToken {
			out.AccessToken = info.Token
		}
		return printJSON(stdout, out)
	}
	if err := step("redeem code", "authorization_code"); err != nil {
		return err
	}
	if err := step("cached call", ""); err != nil {
		return err
	}
	clock.Advance(56 * time.Minute) // within 5 minutes of expiry: refresh
	if err := step("refresh", "refresh_token"); err != nil {
		return err
	}
	return nil
}
