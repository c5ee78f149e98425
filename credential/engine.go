package credential

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/entrakit/entrakit/entra"
	"github.com/entrakit/entrakit/internal/cachecore"
	"github.com/entrakit/entrakit/oauth"
)

// engine is the token lifecycle the credentials share. GetToken is one pass
// (docs/PROTOCOL.md#the-token-cache-and-the-refresh-decision): one lookup in the bound
// account's partition and the refresh policy (decide); when a request is needed, one
// single-flight per key, and inside the partition's transaction: reload, look again, exchange,
// store.
type engine struct {
	settings
	client oauth.Client // its Wait waits between retries, outside any lock (tests set its Sleep)
	core   *cachecore.Core

	closed     atomic.Bool
	part       atomic.Pointer[cachecore.Partition] // the bound account's partition; nil before binding
	tenantHash uint64                              // of the default tenant, for the hot path
	flights    inflight[*cachecore.Entry]
}

func newEngine(s settings) *engine {
	e := &engine{settings: s}
	e.client = s.oauthClient()
	if s.cache != nil {
		e.core = cachecore.Of(s.cache)
	} else {
		e.core = cachecore.New(cachecore.Options{Now: s.now})
	}
	e.tenantHash = e.core.TenantHash(s.cfg.Tenant)
	return e
}

// request is one token request, validated and resolved.
type request struct {
	scopes    []string
	tenant    string // resolved
	claims    string // the caller's claims merged with CAE's, as sent
	cae       bool
	hasClaims bool // the caller sent claims: the cache is not read
}

// cached is the hot path: the bound account's cached token for opts when no refresh is due and
// memory is current (with a store, checked against it in the last Recheck). It serves requests
// without claims for the credential's own tenant, validates nothing (only validated keys are
// ever cached, and a miss goes on to the full path, which validates before any network call),
// locks nothing and allocates nothing.
func (e *engine) cached(opts *TokenRequestOptions) *cachecore.Entry {
	if opts.Claims != "" || (opts.TenantID != "" && opts.TenantID != e.cfg.Tenant) || e.closed.Load() {
		return nil
	}
	p := e.part.Load()
	if p == nil {
		return nil
	}
	ent := p.LookupHashed(e.tenantHash, e.cfg.Tenant, opts.Scopes, opts.EnableCAE)
	if ent == nil {
		return nil
	}
	if now := e.now(); decide(ent, now) != serve || !p.Current(now) {
		return nil
	}
	return ent
}

// get returns a token for opts: the hot path, else the full pass.
func (e *engine) get(ctx context.Context, method string, opts *TokenRequestOptions, first *firstGrant) (*cachecore.Entry, error) {
	if ent := e.cached(opts); ent != nil {
		if e.logger != nil {
			e.logAcquired(ctx, opts.Scopes, e.cfg.Tenant, "cache", ent.Token.ExpiresOn)
		}
		return ent, nil
	}
	r, err := e.prepare(method, opts)
	if err != nil {
		return nil, err
	}
	if first.pending.Load() {
		if ent, redeemed, err := e.redeem(ctx, r, first); redeemed {
			return ent, err
		}
	}
	p := e.partition()
	if p == nil {
		return nil, e.noToken()
	}
	act := fetch
	if !r.hasClaims { // a request with claims asks for a new token: the cache is not read
		var ent *cachecore.Entry
		if ent, act = e.lookup(ctx, p, r); act == serve {
			e.logAcquired(ctx, r.scopes, r.tenant, "cache", ent.Token.ExpiresOn)
			return ent, nil
		}
	}
	got, err := e.flights.do(ctx, r.flightKey(), isContextErr, func() (*cachecore.Entry, error) { return e.refresh(ctx, r, p) })
	if err != nil && act == refreshOrServe {
		// The refresh failed while a token was still valid: serve the partition's token as it
		// is now (the refresh reloaded it: a sign-out elsewhere leaves none to serve).
		if ent := p.Lookup(r.tenant, r.scopes, r.cae); ent != nil && decide(ent, e.now()) != fetch {
			ent.MarkAttempt(e.now())
			e.warn(ctx, "refresh before expiry failed; using the cached token", r, err)
			e.logAcquired(ctx, r.scopes, r.tenant, "cache", ent.Token.ExpiresOn)
			return ent, nil
		}
	}
	if err != nil && isContextErr(err) && !errors.As(err, new(*AuthenticationFailedError)) {
		return nil, e.ctxErr(ctx, err)
	}
	return got, err
}

// lookup finds r's cached token in p and decides what to do with it. A token memory would serve
// without having checked the store in the last Recheck is looked up again after a Sync, so that
// what other processes did (a sign-out) is seen.
func (e *engine) lookup(ctx context.Context, p *cachecore.Partition, r *request) (*cachecore.Entry, action) {
	now := e.now()
	ent := p.Lookup(r.tenant, r.scopes, r.cae)
	act := decide(ent, now)
	if act == serve && !p.Current(now) {
		p.Sync(ctx, now)
		ent = p.Lookup(r.tenant, r.scopes, r.cae)
		act = decide(ent, now)
	}
	return ent, act
}

// prepare validates a request and resolves its tenant and claims. No network I/O.
func (e *engine) prepare(method string, opts *TokenRequestOptions) (*request, error) {
	if e.closed.Load() {
		return nil, fmt.Errorf("%s: %w", e.name, ErrClosed)
	}
	if err := validateRequest(method, opts); err != nil {
		return nil, err
	}
	tenant, err := e.cfg.ResolveTenant(opts.TenantID, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	claims := opts.Claims
	if claims != "" || opts.EnableCAE {
		if claims, err = entra.MergeClaims(opts.Claims, opts.EnableCAE); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
	}
	return &request{scopes: opts.Scopes, tenant: tenant, claims: claims, cae: opts.EnableCAE, hasClaims: opts.Claims != ""}, nil
}

// flightKey: concurrent callers share a request when they would send the same one.
func (r *request) flightKey() string {
	s := slices.Clone(r.scopes)
	slices.Sort(s)
	return fmt.Sprintf("%s\x00%t\x00%s\x00%s", r.tenant, r.cae, r.claims, strings.Join(s, " "))
}

// partition returns the bound account's partition (nil before binding), looking it up again
// when RemoveAccount forgot it.
func (e *engine) partition() *cachecore.Partition {
	p := e.part.Load()
	if p != nil && p.Removed() {
		np := e.core.Partition(p.ID())
		e.part.CompareAndSwap(p, np)
		p = np
	}
	return p
}

// boundAccount returns the home account ID the credential is bound to, or "".
func (e *engine) boundAccount() string {
	if p := e.part.Load(); p != nil {
		return p.ID().HomeAccountID
	}
	return ""
}

func (e *engine) noToken() error {
	return &AuthenticationFailedError{Credential: e.name,
		Err: fmt.Errorf("no authorization code, cached access token, or refresh token available")}
}

func (e *engine) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return &AuthenticationFailedError{Credential: e.name, Err: err}
}

func (e *engine) close() { e.closed.Store(true) }

func (e *engine) logAcquired(ctx context.Context, scopes []string, tenant, source string, exp time.Time) {
	if e.logger == nil || !e.logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	e.logger.LogAttrs(ctx, slog.LevelInfo, "entrakit: token acquired",
		slog.String("credential", e.name), slog.Any("scopes", scopes), slog.String("tenant", tenant),
		slog.String("source", source), slog.Time("expires_on", exp))
}

func (e *engine) warn(ctx context.Context, msg string, r *request, err error) {
	if e.logger == nil {
		return
	}
	e.logger.LogAttrs(ctx, slog.LevelWarn, "entrakit: "+msg,
		slog.String("credential", e.name), slog.Any("scopes", r.scopes), slog.String("tenant", r.tenant),
		slog.String("error", err.Error()))
}

// describe prints a credential's public identity, never a secret.
func (e *engine) describe(typ string) string {
	return fmt.Sprintf("%s{ClientID:%s TenantID:%s Authority:%s Account:%q}", typ, e.clientID, e.cfg.Tenant, e.cfg.Authority.URL(), e.boundAccount())
}
