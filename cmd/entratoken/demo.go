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

// demoAuthority is the authority host the demo's credential uses: its client dials the fake
// (on a free port) for it, so that the authority host, and with it the cache's keys, are the
// same from run to run without a fixed port.
const demoAuthority = "https://example.com"

// demoClock lets the demo jump forward in time to show a refresh without waiting an hour. It
// starts 56 minutes in the past and jumps to the present, so that the tokens a run leaves in
// its --cache are from the present (a later run validates their times), and the fake and the
// credential share it, so that a token's JWT exp and its expires_on agree.
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

// demoRun is one run of the demo: the fake, the clock, the output and the step headings.
type demoRun struct {
	ctx       context.Context
	srv       *entratest.Server
	clock     *demoClock
	client    *http.Client // the credential's client: traced with --trace
	stdout    io.Writer
	trace     io.Writer // nil without --trace
	showToken bool
	scopes    []string

	mu      sync.Mutex
	heading string // printed before the next traced exchange
}

// step starts a step: its heading goes before the step's first exchange in the trace.
func (d *demoRun) step(heading string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.heading = heading
}

func (d *demoRun) takeHeading() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.heading
	d.heading = ""
	return h
}

// note writes a line to the trace for a step with no exchange.
func (d *demoRun) note(text string) {
	if d.trace == nil {
		return
	}
	if h := d.takeHeading(); h != "" {
		fmt.Fprintf(d.trace, "\n### %s\n", h)
	}
	fmt.Fprintf(d.trace, "    (%s)\n", text)
}

func (d *demoRun) print(v any) error {
	if d.trace == nil {
		return printJSON(d.stdout, v)
	}
	var b strings.Builder
	if err := printJSON(&b, v); err != nil {
		return err
	}
	_, err := fmt.Fprintf(d.trace, "    result: %s", strings.ReplaceAll(b.String(), "\n", "\n    "))
	fmt.Fprintln(d.trace)
	return err
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "Runs the authorization-code flow with PKCE, a cached call, a refresh, a replayed code and a\nCAE claims challenge against an in-process fake Entra ID, and prints each result as JSON.", stderr)
	showToken := fs.Bool("show-token", false, "print the access tokens too")
	cacheOpts := addCacheFlags(fs, "a later run with the same directory reuses them without signing in")
	trace := fs.Bool("trace", false, "print each HTTP exchange, secrets replaced by placeholders and JWTs decoded")
	var scopes scopeList
	fs.Var(&scopes, "scope", "a scope to request (repeatable; default https://graph.microsoft.com/.default)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(scopes) == 0 {
		scopes = scopeList{"https://graph.microsoft.com/.default"}
	}

	tokenCache, err := cacheOpts.open(stderr)
	if err != nil {
		return err
	}
	clock := &demoClock{offset: -56 * time.Minute}
	srv := entratest.NewServer(&entratest.Options{StrictRotation: true, RequirePKCE: true, Now: clock.Now, PublicURL: demoAuthority})
	defer srv.Close()

	d := &demoRun{ctx: ctx, srv: srv, clock: clock, client: demoClient(srv), stdout: stdout, showToken: *showToken, scopes: scopes}
	if *trace {
		d.trace = stdout
		d.client = &http.Client{Transport: &oauth.Trace{Base: d.client.Transport, Out: stdout, Notes: d.takeHeading}}
	}

	if tokenCache != nil {
		if account, ok := cachedAccount(tokenCache, "example.com"); ok {
			done, err := d.reuse(tokenCache, account, *cacheOpts.dir)
			if done || err != nil {
				return err
			}
			fmt.Fprintln(stderr, "the cached sign-in could not be used; signing in again")
		}
	}

	code, verifier, err := d.authorize()
	if err != nil {
		return err
	}
	cred, err := credential.NewAuthorizationCode(srv.TenantID(), demoClientID, code, demoRedirect,
		&credential.AuthorizationCodeOptions{CodeVerifier: verifier, AuthorityHost: demoAuthority, HTTPClient: d.client, Now: d.clock.Now, Cache: tokenCache})
	if err != nil {
		return err
	}
	defer cred.Close()
	opts := credential.TokenRequestOptions{Scopes: scopes}

	d.step("2. Code redemption: the authorization_code grant")
	if err := d.token(cred, "redeem code", "authorization_code", opts); err != nil {
		return err
	}
	d.step("3. The same call again")
	d.note("no request: the token is served from the cache")
	if err := d.token(cred, "cached call", "", opts); err != nil {
		return err
	}
	d.clock.Advance(56 * time.Minute) // within 5 minutes of expiry: refresh
	d.step("4. 56 minutes later: the refresh_token grant (the refresh token rotates)")
	if err := d.token(cred, "refresh", "refresh_token", opts); err != nil {
		return err
	}
	if err := d.replay(code, verifier); err != nil {
		return err
	}
	return d.claimsChallenge(cred)
}

// authorize plays the browser: the authorize request with a PKCE challenge and a state, and the
// redirect back with the code.
func (d *demoRun) authorize() (code, verifier string, err error) {
	verifier = oauth.NewVerifier()
	state := rand.Text()
	q := url.Values{
		"client_id": {demoClientID}, "response_type": {"code"}, "redirect_uri": {demoRedirect},
		"scope": {"openid offline_access " + strings.Join(d.scopes, " ")}, "state": {state},
		"code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	browser := &http.Client{Transport: d.client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(d.ctx, http.MethodGet, demoAuthority+"/"+d.srv.TenantID()+"/oauth2/v2.0/authorize?"+q.Encode(), nil)
	if err != nil {
		return "", "", err
	}
	d.step("1. Authorize request: the browser's part, with a PKCE challenge and a state")
	resp, err := browser.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("authorize request: %w", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		return "", "", fmt.Errorf("authorize answered %d without a redirect", resp.StatusCode)
	}
	back := loc.Query()
	if e := back.Get("error"); e != "" {
		return "", "", fmt.Errorf("authorize refused: %s: %s", e, back.Get("error_description"))
	}
	if subtle.ConstantTimeCompare([]byte(back.Get("state")), []byte(state)) != 1 {
		return "", "", errors.New("the state in the redirect does not match: possible CSRF")
	}
	return back.Get("code"), verifier, d.print(map[string]any{"step": "authorize", "redirected_to": loc.Scheme + "://" + loc.Host + loc.Path,
		"state_matches": true, "code_challenge_method": "S256"})
}

// token gets a token and prints it, saying whether it came from the network.
func (d *demoRun) token(cred interface {
	GetTokenInfo(context.Context, credential.TokenRequestOptions) (credential.AccessTokenInfo, error)
}, name, grant string, opts credential.TokenRequestOptions) error {
	before := d.srv.TokenRequests()
	info, err := cred.GetTokenInfo(d.ctx, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	n := d.srv.TokenRequests()
	source := "network"
	if n == before {
		source, grant = "cache", ""
	}
	out := newTokenJSON(info, opts.Scopes, d.showToken)
	out.Step, out.Source, out.Grant, out.Requests = name, source, grant, &n
	return d.print(out)
}

// replay redeems the same code again, as an attacker who intercepted it would: Entra refuses.
func (d *demoRun) replay(code, verifier string) error {
	cred, err := credential.NewAuthorizationCode(d.srv.TenantID(), demoClientID, code, demoRedirect,
		&credential.AuthorizationCodeOptions{CodeVerifier: verifier, AuthorityHost: demoAuthority, HTTPClient: d.client})
	if err != nil {
		return err
	}
	defer cred.Close()
	d.step("5. The same code redeemed again: codes are single-use")
	_, err = cred.GetTokenInfo(d.ctx, credential.TokenRequestOptions{Scopes: d.scopes})
	var af *credential.AuthenticationFailedError
	if !errors.As(err, &af) {
		return fmt.Errorf("replayed code: want an authentication error, got %v", err)
	}
	return d.print(map[string]any{"step": "replayed code", "error": af.ErrorCode, "error_codes": af.ErrorCodes, "description": af.Description})
}

// claimsChallenge asks for a CAE token while the account must answer a conditional access
// challenge: the first request fails with claims, the second sends them and succeeds.
func (d *demoRun) claimsChallenge(cred *credential.AuthorizationCode) error {
	d.srv.RequireClaims(entratest.User{})
	opts := credential.TokenRequestOptions{Scopes: d.scopes, EnableCAE: true}
	d.step("6. A CAE token while conditional access demands more: a claims challenge")
	_, err := cred.GetTokenInfo(d.ctx, opts)
	var af *credential.AuthenticationFailedError
	if !errors.As(err, &af) || af.Claims == "" {
		return fmt.Errorf("claims challenge: want an error with claims, got %v", err)
	}
	if err := d.print(map[string]any{"step": "claims challenge", "error": af.ErrorCode, "error_codes": af.ErrorCodes, "suberror": af.SubError, "claims": af.Claims}); err != nil {
		return err
	}
	opts.Claims = af.Claims
	d.step("7. The same request answering the challenge with its claims")
	return d.token(cred, "challenge answered", "refresh_token", opts)
}

// reuse serves a token from a cache an earlier run filled; done is false when it cannot.
func (d *demoRun) reuse(tokenCache *cache.Cache, account, path string) (bool, error) {
	cred, err := credential.NewFromCache(d.srv.TenantID(), demoClientID, account, &credential.RefreshTokenOptions{
		Cache: tokenCache, AuthorityHost: demoAuthority, HTTPClient: d.client})
	if err != nil {
		return false, err
	}
	defer cred.Close()
	info, err := cred.GetTokenInfo(d.ctx, credential.TokenRequestOptions{Scopes: d.scopes})
	if err != nil {
		return false, nil
	}
	n := d.srv.TokenRequests()
	out := newTokenJSON(info, d.scopes, d.showToken)
	out.Step, out.Source, out.Requests = "reused from "+path, "cache", &n
	return true, d.print(out)
}

// demoClient reaches the fake, on whatever port it listens, as demoAuthority (the fake's
// certificate is valid for example.com).
func demoClient(srv *entratest.Server) *http.Client {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	addr := srv.Host()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig.ServerName = "example.com"
	return &http.Client{Transport: tr}
}
