package credential

import (
	"context"
	"time"

	"golang.org/x/oauth2"
)

// TokenSourceTimeout bounds each Token call of a [TokenSource]: x/oauth2's Token takes no
// context, so the source gives each call its own.
const TokenSourceTimeout = 2 * time.Minute

// TokenSource adapts a credential to golang.org/x/oauth2: each Token call asks cred for a token
// with opts. The credential caches, so no ReuseTokenSource is needed.
//
// x/oauth2 keeps a token source far longer than the context it was made under (a request's, a
// start-up timeout's), and a source that kept that context would fail every refresh once it
// ended (golang/oauth2#388). So each Token call runs under ctx's values (trace hooks, loggers)
// but not its cancellation or deadline, bounded instead by [TokenSourceTimeout].
func TokenSource(ctx context.Context, cred TokenCredential, opts TokenRequestOptions) oauth2.TokenSource {
	return &tokenSource{ctx: context.WithoutCancel(ctx), cred: cred, opts: opts}
}

type tokenSource struct {
	ctx  context.Context // values only
	cred TokenCredential
	opts TokenRequestOptions
}

func (s *tokenSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(s.ctx, TokenSourceTimeout)
	defer cancel()
	t, err := s.cred.GetToken(ctx, s.opts)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.Token, TokenType: "Bearer", Expiry: t.ExpiresOn}, nil
}
