package credential

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entrakit/entrakit/authority"
	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/entra"
	"github.com/entrakit/entrakit/oauth"
)

// Refresh timing (DESIGN section 3; the reference's GetTokenMixin).
const (
	refreshWindow   = 5 * time.Minute  // refresh when this close to expiry
	refreshThrottle = 30 * time.Second // after an attempt, use the cached token this long
)

// request is one token request, validated and resolved.
type request struct {
	scopes  []string
	tenant  string // resolved
	claims  string // merged with CAE, as sent
	cae     bool
	account string
}

// engine is the token lifecycle shared by the credentials: validation, tenant resolution, the
// cache key, the refresh decision, one request per key at a time, and storing responses.
type engine struct {
	name     string
	clientID string
	tenant   string
	secret   string
	auth     authority.Authority
	allowed  []string
	client   oauth.Client
	ownHTTP  *http.Client // closed by Close when we made it
	cache    *cache.Cache
	logger   *slog.Logger
	now      func() time.Time

	account atomic.Pointer[string] // bound home account ID; nil before binding
	closed  atomic.Bool
	hot     atomic.Pointer[hotToken] // the last token fetched: the hot path checks it first

	mu      sync.Mutex
	flights map[string]*flight
	lastTry map[string]time.Time
}

// hotToken is the last token this credential fetched, for the credential's own tenant. Services
// usually ask for one scope set again and again: checking this first spares the shared cache's
// map and lock. It is only a shortcut: freshness is checked on every use, and a miss goes to the
// cache.
// A credential is bound to one account before it stores any token, so the memo needs no account.
type hotToken struct {
	scopes     []string // as requested
	cae        bool
	info       AccessTokenInfo
	freshUntil time.Time // when a refresh becomes due: 5 minutes before expiry, or RefreshOn
}

type flight struct {
	done chan struct{}
	info AccessTokenInfo
	err  error
}

// newEngine validates what every credential shares; the options are RefreshTokenOptions because
// those are exactly the shared ones (AuthorizationCodeOptions adds only CodeVerifier).
func newEngine(name, tenantID, clientID string, o RefreshTokenOptions) (*engine, error) {
	if err := authority.ValidateTenantID(tenantID); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	if strings.TrimSpace(clientID) == "" || !validScope(clientID) {
		return nil, fmt.Errorf("%w: a client ID is required (the application ID of the app registration)", ErrInvalidInput)
	}
	auth, err := authority.Resolve(o.AuthorityHost, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	for _, t := range o.AdditionallyAllowedTenants {
		if t == "*" {
			continue
		}
		if err := authority.ValidateTenantID(t); err != nil {
			return nil, fmt.Errorf("%w: AdditionallyAllowedTenants: %w", ErrInvalidInput, err)
		}
	}
	e := &engine{
		name: name, clientID: clientID, tenant: tenantID, secret: o.ClientSecret, auth: auth,
		allowed: slices.Clone(o.AdditionallyAllowedTenants), cache: o.Cache, logger: o.Logger, now: o.Now,
		flights: map[string]*flight{}, lastTry: map[string]time.Time{},
	}
	if e.now == nil {
		e.now = time.Now
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		e.ownHTTP = hc
	}
	e.client = oauth.Client{HTTPClient: hc, Now: e.now, Logger: o.Logger}
	if e.cache == nil {
		e.cache, _ = cache.New(&cache.Options{Now: e.now})
	}
	return e, nil
}

// boundAccount returns the home account ID the credential is bound to, or "".
func (e *engine) boundAccount() string {
	if p := e.account.Load(); p != nil {
		return *p
	}
	return ""
}

// prepare validates a request and resolves its tenant and claims. No network I/O.
func (e *engine) prepare(method string, opts *TokenRequestOptions) (request, error) {
	if e.closed.Load() {
		return request{}, fmt.Errorf("%s: %w", e.name, ErrClosed)
	}
	if err := validateRequest(method, opts); err != nil {
		return request{}, err
	}
	tenant, err := authority.ResolveTenant(e.tenant, opts.TenantID, e.allowed, os.Getenv)
	if err != nil {
		return request{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	claims := opts.Claims
	if claims != "" || opts.EnableCAE {
		if claims, err = entra.MergeClaims(opts.Claims, opts.EnableCAE); err != nil {
			return request{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
	}
	return request{scopes: opts.Scopes, tenant: tenant, claims: claims, cae: opts.EnableCAE, account: e.boundAccount()}, nil
}

func (e *engine) key(r *request) cache.Key {
	return cache.Key{Environment: e.auth.Host(), Tenant: r.tenant, ClientID: e.clientID, Account: r.account, Scopes: r.scopes, CAE: r.cae}
}

// get is the refresh decision for a bound credential (docs/PROTOCOL.md#the-token-cache-and-the-refresh-decision).
// fetch performs the token request.
//
//	no token or expired            -> fetch; errors are returned
//	an attempt in the last 30 s    -> the cached token
//	past RefreshOn or < 5 min left -> fetch; on failure the still-valid cached token
//	otherwise                      -> the cached token
//
// A request with claims skips the cache read. Concurrent callers of one key share one fetch.
func (e *engine) get(ctx context.Context, r request, hasClaims bool, fetch func(context.Context, request) (AccessTokenInfo, error)) (AccessTokenInfo, error) {
	now := e.now()
	if !hasClaims {
		if t, ok := e.cache.AccessToken(e.key(&r), now); ok {
			if e.isFresh(t, now) || e.throttled(r, now) {
				e.logAcquired(ctx, r, "cache", t.ExpiresOn)
				return infoOf(t), nil
			}
			info, err := e.shared(ctx, r, fetch)
			if err != nil {
				e.warn(ctx, "refresh before expiry failed; using the cached token", r, err)
				e.logAcquired(ctx, r, "cache", t.ExpiresOn)
				return infoOf(t), nil
			}
			return info, nil
		}
	}
	return e.shared(ctx, r, fetch)
}

// fresh is the hot path: a cached token that needs no refresh, for a request without claims
// for the credential's own tenant. It validates nothing: only validated scope sets are ever
// cached, so an invalid request cannot hit, and a miss goes on to the full path, which
// validates before any network call. It does not allocate.
func (e *engine) fresh(opts *TokenRequestOptions) (AccessTokenInfo, bool) {
	if e.closed.Load() || (opts.TenantID != "" && opts.TenantID != e.tenant) {
		return AccessTokenInfo{}, false
	}
	now := e.now()
	if h := e.hot.Load(); h != nil && now.Before(h.freshUntil) && h.cae == opts.EnableCAE && sameScopes(h.scopes, opts.Scopes) {
		return h.info, true
	}
	t, ok := e.cache.AccessToken(e.key(&request{scopes: opts.Scopes, tenant: e.tenant, cae: opts.EnableCAE, account: e.boundAccount()}), now)
	if !ok || !e.isFresh(t, now) {
		return AccessTokenInfo{}, false
	}
	return infoOf(t), true
}

func flightKey(r request) string {
	s := slices.Clone(r.scopes)
	slices.Sort(s)
	return fmt.Sprintf("%s\x00%s\x00%t\x00%s\x00%s", r.tenant, r.account, r.cae, r.claims, strings.Join(s, " "))
}

func (e *engine) throttled(r request, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	last, ok := e.lastTry[flightKey(r)]
	return ok && now.Sub(last) < refreshThrottle
}

// shared runs fetch once for all concurrent callers of the same key. A caller whose context
// ends stops waiting; if the leader's context ended, the others try again with theirs.
func (e *engine) shared(ctx context.Context, r request, fetch func(context.Context, request) (AccessTokenInfo, error)) (AccessTokenInfo, error) {
	fk := flightKey(r)
	for {
		e.mu.Lock()
		if f, ok := e.flights[fk]; ok {
			e.mu.Unlock()
			select {
			case <-f.done:
				if f.err != nil && isContextErr(f.err) && ctx.Err() == nil {
					continue
				}
				return f.info, f.err
			case <-ctx.Done():
				return AccessTokenInfo{}, e.ctxErr(ctx)
			}
		}
		f := &flight{done: make(chan struct{})}
		e.flights[fk] = f
		e.lastTry[fk] = e.now()
		e.mu.Unlock()

		f.info, f.err = fetch(ctx, r)

		e.mu.Lock()
		delete(e.flights, fk)
		e.mu.Unlock()
		close(f.done)
		return f.info, f.err
	}
}

func (e *engine) ctxErr(ctx context.Context) error {
	return &AuthenticationFailedError{Credential: e.name, Err: ctx.Err()}
}

// exchange sends one grant and completes the expiry of its answer.
func (e *engine) exchange(ctx context.Context, r request, form url.Values) (*oauth.Token, error) {
	endpoint, err := e.auth.TokenEndpoint(r.tenant)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	tok, err := e.client.Exchange(ctx, endpoint, form)
	if err != nil {
		return nil, authFailed(e.name, err)
	}
	if tok.ExpiresOn.IsZero() {
		exp, jerr := entra.ExpiryFromJWT(tok.AccessToken)
		if jerr != nil || !exp.After(tok.RequestTime) || exp.Sub(tok.RequestTime) > oauth.MaxLifetime {
			return nil, &AuthenticationFailedError{Credential: e.name, StatusCode: http.StatusOK,
				Err: fmt.Errorf("%w: no expires_on or expires_in, and the access token has no usable JWT exp", oauth.ErrMalformedResponse)}
		}
		tok.SetExpiresOn(exp)
	}
	return tok, nil
}

// store caches a token response under the account it names and returns the token info. A new
// refresh token replaces the old one before this returns (rotation, RFC 6749 section 10.4;
// docs/PROTOCOL.md#the-refresh-token-grant-and-rotation).
func (e *engine) store(r request, tok *oauth.Token, account string) AccessTokenInfo {
	env := e.auth.Host()
	if tok.RefreshToken != "" {
		e.cache.PutRefreshToken(env, e.clientID, account, tok.RefreshToken)
	}
	r.account = account
	e.cache.PutAccessToken(e.key(&r), cache.AccessToken{
		Secret: tok.AccessToken, TokenType: tok.TokenType, ExpiresOn: tok.ExpiresOn, RefreshOn: tok.RefreshOn, CachedAt: tok.RequestTime,
	})
	info := AccessTokenInfo{Token: tok.AccessToken, ExpiresOn: tok.ExpiresOn, TokenType: tok.TokenType, RefreshOn: tok.RefreshOn}
	if r.tenant == e.tenant && r.claims == "" || r.tenant == e.tenant && r.cae && r.claims == capabilityOnly {
		until := info.ExpiresOn.Add(-refreshWindow)
		if !info.RefreshOn.IsZero() && info.RefreshOn.Before(until) {
			until = info.RefreshOn
		}
		e.hot.Store(&hotToken{scopes: slices.Clone(r.scopes), cae: r.cae, info: info, freshUntil: until})
	}
	return info
}

// capabilityOnly is what a CAE request without claims sends: its token may serve later CAE
// requests without claims.
const capabilityOnly = `{"access_token":{"xms_cc":{"values":["CP1"]}}}`

// sameScopes reports whether two scope lists hold the same set; the usual case, the same list in
// the same order, is checked first. It does not allocate.
func sameScopes(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	ordered := true
	for i := range a {
		if a[i] != b[i] {
			ordered = false
			break
		}
	}
	if ordered {
		return true
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			return false
		}
	}
	return true
}

// bind records the account a first response signed in (client_info uid.utid, else id_token
// sub; docs/PROTOCOL.md#redeeming-the-code); with neither, a private anonymous ID so that a
// shared cache never mixes accounts.
func (e *engine) bind(tok *oauth.Token, tenant string) string {
	id, claims := entra.HomeAccountID(tok.ClientInfo, tok.IDToken)
	if id == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = "anonymous-" + hex.EncodeToString(b[:])
	} else {
		e.cache.PutAccount(cache.Account{HomeAccountID: id, Environment: e.auth.Host(), TenantID: tenant, Username: claims.PreferredUsername})
	}
	e.account.Store(&id)
	return id
}

// refresh redeems the bound account's cached refresh token for r, as one cache transaction:
// with a shared persistent cache, another process may have refreshed meanwhile, so the cache is
// reloaded first and a fresh token found there is used instead of a request.
func (e *engine) refresh(ctx context.Context, r request) (AccessTokenInfo, error) {
	var info AccessTokenInfo
	err := e.cache.Locked(ctx, func() error {
		if r.claims == "" {
			if t, ok := e.cache.AccessToken(e.key(&r), e.now()); ok && e.isFresh(t, e.now()) {
				info = infoOf(t)
				return nil
			}
		}
		var err error
		info, err = e.refreshLocked(ctx, r)
		return err
	})
	if err != nil && isContextErr(err) && !errors.As(err, new(*AuthenticationFailedError)) {
		return AccessTokenInfo{}, e.ctxErr(ctx)
	}
	return info, err
}

func (e *engine) refreshLocked(ctx context.Context, r request) (AccessTokenInfo, error) {
	env := e.auth.Host()
	rt, ok := e.cache.RefreshToken(env, e.clientID, r.account)
	if !ok {
		return AccessTokenInfo{}, &AuthenticationFailedError{Credential: e.name,
			Err: errors.New("no authorization code, cached access token, or refresh token available")}
	}
	form := oauth.RefreshGrant{ClientID: e.clientID, RefreshToken: rt, Scopes: r.scopes, ClientSecret: e.secret, Claims: r.claims}.Form()
	tok, err := e.exchange(ctx, r, form)
	if err != nil {
		var af *AuthenticationFailedError
		if errors.As(err, &af) && refreshTokenIsDead(af) {
			e.cache.RemoveRefreshToken(env, e.clientID, r.account, rt)
		}
		return AccessTokenInfo{}, err
	}
	info := e.store(r, tok, r.account)
	e.logAcquired(ctx, r, "network", info.ExpiresOn)
	return info, nil
}

// refreshTokenIsDead (docs/PROTOCOL.md#errors): invalid_grant means the refresh token is unusable (revoked, expired,
// malformed) unless the error asks for an interaction instead: a claims challenge (AADSTS50076
// and other conditional access) or an interaction suberror. Then the token is still good for the
// answer to the challenge and is kept. (The reference evicts on every invalid_grant, which makes
// answering a claims challenge impossible.)
func refreshTokenIsDead(af *AuthenticationFailedError) bool {
	if af.ErrorCode != "invalid_grant" || af.Claims != "" {
		return false
	}
	switch af.SubError {
	case "basic_action", "additional_action", "message_only", "consent_required", "user_password_expired":
		return false
	}
	return true
}

// isFresh: no refresh is due (more than 5 minutes left and before RefreshOn).
func (e *engine) isFresh(t cache.AccessToken, now time.Time) bool {
	return t.ExpiresOn.Sub(now) > refreshWindow && (t.RefreshOn.IsZero() || now.Before(t.RefreshOn))
}

func (e *engine) close() {
	e.closed.Store(true)
	if e.ownHTTP != nil {
		e.ownHTTP.CloseIdleConnections()
	}
}

func (e *engine) logAcquired(ctx context.Context, r request, source string, exp time.Time) {
	if e.logger == nil || !e.logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	e.logger.LogAttrs(ctx, slog.LevelInfo, "entrakit: token acquired",
		slog.String("credential", e.name), slog.Any("scopes", r.scopes), slog.String("tenant", r.tenant),
		slog.String("source", source), slog.Time("expires_on", exp))
}

func (e *engine) warn(ctx context.Context, msg string, r request, err error) {
	if e.logger == nil {
		return
	}
	e.logger.LogAttrs(ctx, slog.LevelWarn, "entrakit: "+msg,
		slog.String("credential", e.name), slog.Any("scopes", r.scopes), slog.String("tenant", r.tenant),
		slog.String("error", err.Error()))
}

// describe prints a credential's public identity, never a secret.
func (e *engine) describe(typ string) string {
	return fmt.Sprintf("%s{ClientID:%s TenantID:%s Authority:%s Account:%q}", typ, e.clientID, e.tenant, e.auth.URL(), e.boundAccount())
}

func infoOf(t cache.AccessToken) AccessTokenInfo {
	return AccessTokenInfo{Token: t.Secret, ExpiresOn: t.ExpiresOn, TokenType: t.TokenType, RefreshOn: t.RefreshOn}
}
