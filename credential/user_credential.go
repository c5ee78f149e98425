package credential

import (
	"context"

	"github.com/entrakit/entrakit/cache"
)

// userCredential is what AuthorizationCode and RefreshToken share: the engine and the grant
// they start from.
type userCredential struct {
	e     *engine
	first *firstGrant
}

// GetToken returns an access token for opts.Scopes, from the cache when it is fresh enough.
func (c *userCredential) GetToken(ctx context.Context, opts TokenRequestOptions) (AccessToken, error) {
	ent, err := c.e.get(ctx, "GetToken", &opts, c.first)
	if err != nil {
		return AccessToken{}, err
	}
	return AccessToken{Token: ent.Token.Secret, ExpiresOn: ent.Token.ExpiresOn}, nil
}

// GetTokenInfo is GetToken with the token type and refresh time.
func (c *userCredential) GetTokenInfo(ctx context.Context, opts TokenRequestOptions) (AccessTokenInfo, error) {
	ent, err := c.e.get(ctx, "GetTokenInfo", &opts, c.first)
	if err != nil {
		return AccessTokenInfo{}, err
	}
	t := &ent.Token
	return AccessTokenInfo{Token: t.Secret, ExpiresOn: t.ExpiresOn, TokenType: t.TokenType, RefreshOn: t.RefreshOn}, nil
}

// Close marks the credential closed: later calls fail with ErrClosed. It is safe to call more
// than once. (Credentials built without an HTTPClient share one connection pool, which stays.)
func (c *userCredential) Close() error {
	c.e.close()
	return nil
}

// Account returns the account the credential is bound to: after its first token (or, for
// NewFromCache, the account it was made for), and false before.
func (c *userCredential) Account() (cache.Account, bool) {
	p := c.e.part.Load()
	if p == nil {
		return cache.Account{}, false
	}
	a, ok := p.Account()
	if !ok || a.HomeAccountID == "" {
		id := p.ID()
		return cache.Account{HomeAccountID: id.HomeAccountID, Environment: id.Environment}, true
	}
	return cache.Account(a), true
}
