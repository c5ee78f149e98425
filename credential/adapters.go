package credential

import (
	"context"

	"golang.org/x/oauth2"
)

// TokenSource adapts a credential to golang.org/x/oauth2: each Token call asks cred for a token
// with opts, under ctx (x/oauth2's Token takes no context). The credential caches, so no
// ReuseTokenSource is needed.
func TokenSource(ctx context.Context, cred TokenCredential, opts TokenRequestOptions) oauth2.TokenSource {
	return &tokenSource{ctx: ctx, cred: cred, opts: opts}
}

type tokenSource struct {
	ctx  context.Context
	cred TokenCredential
	opts TokenRequestOptions
}

func (s *tokenSource) Token() (*oauth2.Token, error) {
	t, err := s.cred.GetToken(s.ctx, s.opts)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.Token, TokenType: "Bearer", Expiry: t.ExpiresOn}, nil
}
