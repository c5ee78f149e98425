package credential

import (
	"context"
	"errors"
	"net/url"
	"sync/atomic"
)

// firstGrant (docs/PROTOCOL.md#redeeming-the-code) is what a credential starts from: an authorization code, or a refresh token from
// elsewhere. Until it is redeemed, every request redeems it (one at a time; never from the
// cache, so a shared cache can never hand this credential another account's token). The secret
// is kept until a redemption succeeds. Redeeming binds the credential to the account signed in.
type firstGrant struct {
	sem     chan struct{} // one redemption at a time; a waiter's context can end its wait
	pending atomic.Bool
	secret  string // guarded by sem
	// form builds the grant's request body from the secret.
	form func(secret string, r request) url.Values
	// keepAsRefreshToken: the secret is itself a refresh token, to be used again when the
	// server does not rotate it.
	keepAsRefreshToken bool
}

func newFirstGrant(secret string, keepAsRefreshToken bool, form func(string, request) url.Values) *firstGrant {
	g := &firstGrant{sem: make(chan struct{}, 1), secret: secret, form: form, keepAsRefreshToken: keepAsRefreshToken}
	g.pending.Store(secret != "") // nothing to redeem: a credential bound from the cache
	return g
}

// getToken is GetTokenInfo for both credentials.
func (e *engine) getToken(ctx context.Context, method string, opts TokenRequestOptions, g *firstGrant) (AccessTokenInfo, error) {
	if !g.pending.Load() && opts.Claims == "" {
		if info, ok := e.fresh(&opts); ok {
			if e.logger != nil {
				e.logAcquired(ctx, request{scopes: opts.Scopes, tenant: e.tenant}, "cache", info.ExpiresOn)
			}
			return info, nil
		}
	}
	r, err := e.prepare(method, &opts)
	if err != nil {
		return AccessTokenInfo{}, err
	}
	for g.pending.Load() {
		info, done, err := e.redeemFirst(ctx, r, g)
		if done {
			return info, err
		}
		r.account = e.boundAccount() // another caller redeemed it meanwhile
	}
	return e.get(ctx, r, opts.Claims != "", e.refresh)
}

// redeemFirst redeems g if it is still pending; done is false when another caller already did.
func (e *engine) redeemFirst(ctx context.Context, r request, g *firstGrant) (info AccessTokenInfo, done bool, err error) {
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return AccessTokenInfo{}, true, e.ctxErr(ctx)
	}
	defer func() { <-g.sem }()
	if !g.pending.Load() {
		return AccessTokenInfo{}, false, nil
	}
	err = e.cache.Locked(ctx, func() error {
		tok, err := e.exchange(ctx, r, g.form(g.secret, r))
		if err != nil {
			return err
		}
		account := e.bind(tok, r.tenant)
		if tok.RefreshToken == "" && g.keepAsRefreshToken {
			e.cache.PutRefreshToken(e.auth.Host(), e.clientID, account, g.secret)
		}
		g.secret = ""
		g.pending.Store(false)
		info = e.store(r, tok, account)
		return nil
	})
	if err != nil {
		if isContextErr(err) && !errors.As(err, new(*AuthenticationFailedError)) {
			err = e.ctxErr(ctx)
		}
		return AccessTokenInfo{}, true, err
	}
	e.logAcquired(ctx, r, "network", info.ExpiresOn)
	return info, true, nil
}
