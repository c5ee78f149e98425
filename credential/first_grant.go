package credential

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/url"
	"sync/atomic"

	"github.com/entrakit/entrakit/entra"
	"github.com/entrakit/entrakit/internal/cachecore"
)

// firstGrant (docs/PROTOCOL.md#redeeming-the-code) is what a credential starts from: an
// authorization code, or a refresh token from elsewhere. Until it is redeemed, every request
// redeems it (one at a time; never from the cache, so a shared cache can never hand this
// credential another account's token). The secret is kept until a redemption succeeds, which
// binds the credential to the account signed in.
type firstGrant struct {
	sem     chan struct{} // one redemption at a time; a waiter's context can end its wait
	pending atomic.Bool
	secret  string // guarded by sem
	// form builds the grant's request body from the secret.
	form func(secret string, r *request) url.Values
	// keepAsRefreshToken: the secret is itself a refresh token, to be used again when the
	// server does not rotate it.
	keepAsRefreshToken bool
	// nonce, when set, must be the nonce of the redemption's id_token.
	nonce string
}

func newFirstGrant(secret string, keepAsRefreshToken bool, form func(string, *request) url.Values) *firstGrant {
	g := &firstGrant{sem: make(chan struct{}, 1), secret: secret, form: form, keepAsRefreshToken: keepAsRefreshToken}
	g.pending.Store(secret != "") // nothing to redeem: a credential bound from the cache
	return g
}

// ErrNonceMismatch is wrapped when the id_token of a code redemption does not carry the nonce
// of the authorize request (AuthorizationCodeOptions.Nonce): the code was not the one this
// sign-in asked for. Nothing of the answer is kept.
var ErrNonceMismatch = errors.New("credential: the id_token's nonce is not the sign-in's")

// redeem redeems g for r if it is still pending; redeemed is false when another caller
// redeemed it meanwhile (the caller then goes on as a bound credential).
//
// The redemption holds no cache lock (the grant is this credential's alone, and the account is
// unknown until the answer names it); its answer is then stored in the account's partition in
// one transaction.
func (e *engine) redeem(ctx context.Context, r *request, g *firstGrant) (ent *cachecore.Entry, redeemed bool, err error) {
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, true, e.ctxErr(ctx, ctx.Err())
	}
	defer func() { <-g.sem }()
	if !g.pending.Load() {
		return nil, false, nil
	}
	tok, err := e.exchange(ctx, r, g.form(g.secret, r))
	if err != nil {
		return nil, true, err
	}
	id := identify(tok)
	account := cachecore.Account{HomeAccountID: id, Environment: e.cfg.Authority.Host(), TenantID: r.tenant}
	var idc entra.Claims
	if tok.IDToken != "" {
		idc, _ = entra.DecodeUnverified(tok.IDToken)
		account.Username = idc.PreferredUsername
	}
	if g.nonce != "" && tok.IDToken != "" && subtle.ConstantTimeCompare([]byte(idc.Nonce), []byte(g.nonce)) != 1 {
		// An id_token for another sign-in (a replayed or injected code): keep nothing of it.
		return nil, true, &AuthenticationFailedError{Credential: e.name, StatusCode: 200, Err: ErrNonceMismatch}
	}
	if id == "" {
		id = anonymousAccount() // a private ID, so that a shared cache never mixes accounts
	}
	rt := tok.RefreshToken
	if rt == "" && g.keepAsRefreshToken {
		rt = g.secret
	}
	p := e.core.Partition(cachecore.PartitionID{Environment: e.cfg.Authority.Host(), ClientID: e.clientID, HomeAccountID: id})
	store := func(tx *cachecore.Tx) error {
		if account.HomeAccountID != "" {
			tx.SetAccount(account)
		}
		if rt != "" {
			tx.SetRefreshToken(rt)
		}
		ent = tx.Put(r.tenant, r.scopes, r.cae, tokenOf(tok))
		return nil
	}
	if err := p.Update(ctx, store); err != nil {
		// The code is spent: keep what it bought in memory, to be saved by the next transaction.
		e.warn(ctx, "the signed-in account's tokens could not be saved; they are kept in memory", r, err)
		p.UpdateMemory(store)
	}
	e.part.Store(p)
	g.secret = ""
	g.pending.Store(false)
	e.logAcquired(ctx, r.scopes, r.tenant, "network", ent.Token.ExpiresOn)
	return ent, true, nil
}
