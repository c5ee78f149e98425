package credential

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// Chain tries credentials in order, as azidentity's ChainedTokenCredential does: a credential
// that cannot run here (*CredentialUnavailableError) passes to the next; the first token ends
// the search, and that credential is used from then on; any other error (the server refused,
// the network failed) stops the chain and is returned, so that a misconfigured credential is
// not silently skipped. It is safe for concurrent use.
type Chain struct {
	creds  []TokenCredential
	chosen atomic.Int32 // 1 + the index of the credential that gave a token; 0 before
}

var _ TokenCredential = (*Chain)(nil)

// NewChain returns a chain of creds, tried in the order given. It needs at least one, and none
// nil; errors wrap ErrInvalidInput.
func NewChain(creds ...TokenCredential) (*Chain, error) {
	if len(creds) == 0 {
		return nil, fmt.Errorf("%w: NewChain needs at least one credential", ErrInvalidInput)
	}
	for i, c := range creds {
		if c == nil {
			return nil, fmt.Errorf("%w: NewChain's credential %d is nil", ErrInvalidInput, i)
		}
	}
	return &Chain{creds: append([]TokenCredential(nil), creds...)}, nil
}

// GetToken returns the token of the first credential that can run here.
func (c *Chain) GetToken(ctx context.Context, opts TokenRequestOptions) (AccessToken, error) {
	info, err := c.get(ctx, opts, func(cred TokenCredential) (AccessTokenInfo, error) {
		t, err := cred.GetToken(ctx, opts)
		return AccessTokenInfo{Token: t.Token, ExpiresOn: t.ExpiresOn}, err
	})
	return AccessToken{Token: info.Token, ExpiresOn: info.ExpiresOn}, err
}

// GetTokenInfo is GetToken with the token type and refresh time, from credentials that give
// them (GetTokenInfo), else from GetToken.
func (c *Chain) GetTokenInfo(ctx context.Context, opts TokenRequestOptions) (AccessTokenInfo, error) {
	return c.get(ctx, opts, func(cred TokenCredential) (AccessTokenInfo, error) {
		if ic, ok := cred.(interface {
			GetTokenInfo(context.Context, TokenRequestOptions) (AccessTokenInfo, error)
		}); ok {
			return ic.GetTokenInfo(ctx, opts)
		}
		t, err := cred.GetToken(ctx, opts)
		return AccessTokenInfo{Token: t.Token, ExpiresOn: t.ExpiresOn, TokenType: "Bearer"}, err
	})
}

func (c *Chain) get(ctx context.Context, opts TokenRequestOptions, token func(TokenCredential) (AccessTokenInfo, error)) (AccessTokenInfo, error) {
	if i := c.chosen.Load(); i > 0 {
		return token(c.creds[i-1])
	}
	var unavailable []*CredentialUnavailableError
	for i, cred := range c.creds {
		info, err := token(cred)
		var ue *CredentialUnavailableError
		switch {
		case err == nil:
			c.chosen.CompareAndSwap(0, int32(i+1))
			return info, nil
		case errors.As(err, &ue):
			unavailable = append(unavailable, ue)
		default:
			return AccessTokenInfo{}, err
		}
	}
	msgs := make([]string, len(unavailable))
	causes := make([]error, len(unavailable))
	var links []string // each credential's troubleshooting pointer, said once at the end
	for i, ue := range unavailable {
		msg, link, found := strings.Cut(ue.Message, "; to troubleshoot, see ")
		if found && !slices.Contains(links, link) {
			links = append(links, link)
		}
		msgs[i], causes[i] = ue.Credential+": "+msg, ue
	}
	msg := "no credential in the chain can run here (" + strings.Join(msgs, " | ") + ")"
	if len(links) > 0 {
		msg += "; to troubleshoot, see " + strings.Join(links, " and ")
	}
	return AccessTokenInfo{}, &CredentialUnavailableError{Credential: "ChainedTokenCredential", Message: msg, Err: errors.Join(causes...)}
}
