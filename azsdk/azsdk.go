// Package azsdk adapts entrakit credentials to the Azure SDK for Go: NewTokenCredential turns
// any credential.TokenCredential into an azcore.TokenCredential, so entrakit's credentials work
// with every Azure SDK client (azblob, azkeys, armresources, ...).
//
// It is a separate module so that the Azure SDK never enters the dependencies of programs that
// use entrakit alone.
//
// # Security considerations
//
// The adapter passes requests and tokens through unchanged and holds no secret of its own;
// tokens stay in the wrapped credential's cache. Errors are the wrapped credential's, which
// never contain secrets.
package azsdk

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/entrakit/entrakit/credential"
)

// infoCredential is implemented by entrakit's credentials that also report the token type and
// refresh time.
type infoCredential interface {
	GetTokenInfo(ctx context.Context, opts credential.TokenRequestOptions) (credential.AccessTokenInfo, error)
}

// NewTokenCredential returns an azcore.TokenCredential backed by cred. Scopes, claims, tenant
// and CAE are passed through; RefreshOn is filled when cred reports it, so azcore's bearer
// token policy refreshes when the server advised.
func NewTokenCredential(cred credential.TokenCredential) azcore.TokenCredential {
	return &adapter{cred: cred}
}

type adapter struct{ cred credential.TokenCredential }

func (a *adapter) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	opts := credential.TokenRequestOptions{Scopes: o.Scopes, Claims: o.Claims, TenantID: o.TenantID, EnableCAE: o.EnableCAE}
	if ic, ok := a.cred.(infoCredential); ok {
		info, err := ic.GetTokenInfo(ctx, opts)
		if err != nil {
			return azcore.AccessToken{}, err
		}
		return azcore.AccessToken{Token: info.Token, ExpiresOn: info.ExpiresOn, RefreshOn: info.RefreshOn}, nil
	}
	t, err := a.cred.GetToken(ctx, opts)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: t.Token, ExpiresOn: t.ExpiresOn}, nil
}
