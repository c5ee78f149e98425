package credential

import "context"

// userCredential is what AuthorizationCode and RefreshToken share: the token lifecycle (engine)
// and what the credential starts from (firstGrant). Its methods are theirs.
type userCredential struct {
	e     *engine
	first *firstGrant
}

// GetToken returns an access token for opts.Scopes, from the cache when it is fresh enough.
func (c *userCredential) GetToken(ctx context.Context, opts TokenRequestOptions) (AccessToken, error) {
	info, err := c.e.getToken(ctx, "GetToken", opts, c.first)
	return AccessToken{Token: info.Token, ExpiresOn: info.ExpiresOn}, err
}

// GetTokenInfo is GetToken with the token type and refresh time.
func (c *userCredential) GetTokenInfo(ctx context.Context, opts TokenRequestOptions) (AccessTokenInfo, error) {
	return c.e.getToken(ctx, "GetTokenInfo", opts, c.first)
}

// Close releases the credential's idle connections; later calls fail with ErrClosed. It is
// safe to call more than once.
func (c *userCredential) Close() error {
	c.e.close()
	return nil
}
