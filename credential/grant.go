package credential

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/entrakit/entrakit/entra"
	"github.com/entrakit/entrakit/internal/cachecore"
	"github.com/entrakit/entrakit/oauth"
)

// ErrAccountMismatch is wrapped by the error of a refresh whose answer names another account
// than the one the credential is bound to. Nothing of such an answer is cached or returned.
var ErrAccountMismatch = errors.New("credential: the token endpoint answered for another account")

// errRetry ends a transaction whose request should be retried after the lock is released.
var errRetry = errors.New("retry")

// send makes one attempt of a grant and completes the expiry of its answer: expires_on, else
// expires_in, else the access token's JWT exp (docs/PROTOCOL.md#redeeming-the-code). Errors
// are oauth's, for NextRetry; fail turns them into the credential's.
func (e *engine) send(ctx context.Context, r *request, form url.Values) (*oauth.Token, error) {
	endpoint, err := e.cfg.Authority.TokenEndpoint(r.tenant)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	tok, err := e.client.Send(ctx, endpoint, form)
	if err != nil {
		return nil, err
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

// fail turns what send returned into the credential's error.
func (e *engine) fail(err error) error {
	if errors.Is(err, ErrInvalidInput) || errors.As(err, new(*AuthenticationFailedError)) {
		return err
	}
	return authFailed(e.name, err)
}

// exchange sends a grant that holds no lock (a first grant), retrying as the retry options
// allow.
func (e *engine) exchange(ctx context.Context, r *request, form url.Values) (*oauth.Token, error) {
	for attempt := 0; ; attempt++ {
		tok, err := e.send(ctx, r, form)
		if err == nil {
			return tok, nil
		}
		wait, again := e.client.NextRetry(ctx, err, attempt)
		if !again {
			return nil, e.fail(err)
		}
		if err := e.client.Wait(ctx, wait); err != nil {
			return nil, e.ctxErr(ctx, err)
		}
	}
}

// refresh redeems the bound account's refresh token for r, one transaction per attempt
// (docs/PROTOCOL.md#the-refresh-token-grant-and-rotation): under the partition's lock it looks
// again (another process or credential may have refreshed meanwhile), sends one request, and
// stores the answer: the new refresh token replaces the old one (rotation, RFC 6749 section
// 10.4) before the lock is released. A retry waits outside the lock, then starts over.
func (e *engine) refresh(ctx context.Context, r *request, p *cachecore.Partition) (*cachecore.Entry, error) {
	for attempt := 0; ; attempt++ {
		var out *cachecore.Entry
		var wait time.Duration
		err := p.Update(ctx, func(tx *cachecore.Tx) error {
			if !r.hasClaims {
				if ent := tx.Lookup(r.tenant, r.scopes, r.cae); ent != nil && fresh(ent, e.now()) {
					out = ent
					return nil
				}
			}
			rt := tx.RefreshToken()
			if rt == "" {
				return e.noToken()
			}
			form := oauth.RefreshGrant{ClientID: e.clientID, RefreshToken: rt, Scopes: r.scopes, ClientSecret: e.secret, Claims: r.claims}.Form()
			tok, err := e.send(ctx, r, form)
			if err != nil {
				if w, again := e.client.NextRetry(ctx, err, attempt); again {
					wait = w
					return errRetry
				}
				err = e.fail(err)
				var af *AuthenticationFailedError
				if errors.As(err, &af) && refreshTokenIsDead(af) {
					tx.RemoveRefreshToken(rt)
				}
				return err
			}
			if id := identify(tok); id != "" && id != p.ID().HomeAccountID {
				return &AuthenticationFailedError{Credential: e.name, StatusCode: http.StatusOK, Err: ErrAccountMismatch}
			}
			if tok.RefreshToken != "" {
				tx.SetRefreshToken(tok.RefreshToken)
			}
			out = tx.Put(r.tenant, r.scopes, r.cae, tokenOf(tok))
			return nil
		})
		switch {
		case errors.Is(err, errRetry):
			if err := e.client.Wait(ctx, wait); err != nil {
				return nil, e.ctxErr(ctx, err)
			}
			continue
		case errors.Is(err, cachecore.ErrLock):
			return nil, &AuthenticationFailedError{Credential: e.name, Err: err}
		case err != nil:
			return nil, err
		}
		e.logAcquired(ctx, r.scopes, r.tenant, "network", out.Token.ExpiresOn)
		return out, nil
	}
}

// identify names the account an answer signed in: client_info's uid.utid, else the id_token's
// sub, else "" (docs/PROTOCOL.md#redeeming-the-code).
func identify(tok *oauth.Token) string {
	return entra.HomeAccountID(tok.ClientInfo, tok.IDToken)
}

func anonymousAccount() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "anonymous-" + hex.EncodeToString(b[:])
}

func tokenOf(tok *oauth.Token) cachecore.Token {
	return cachecore.Token{Secret: tok.AccessToken, TokenType: tok.TokenType, ExpiresOn: tok.ExpiresOn, RefreshOn: tok.RefreshOn, CachedAt: tok.RequestTime}
}

// refreshTokenIsDead (docs/PROTOCOL.md#errors): invalid_grant means the refresh token is
// unusable (revoked, expired, malformed) unless the error asks for an interaction instead: a
// claims challenge (AADSTS50076 and other conditional access) or an interaction suberror. Then
// the token is still good for the answer to the challenge and is kept. (azure-identity evicts
// on every invalid_grant, which makes answering a claims challenge impossible.)
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
