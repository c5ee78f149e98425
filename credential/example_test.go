package credential_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/oauth"
)

// Redeem an authorization code (with PKCE) and use the credential: the second call is served
// from the cache, another scope uses the refresh token.
func ExampleNewAuthorizationCode() {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	verifier := oauth.NewVerifier()
	code := srv.IssueCode(entratest.CodeRequest{ClientID: "app", RedirectURI: "http://localhost/cb",
		Scopes:        []string{"openid", "offline_access", "https://graph.microsoft.com/.default"},
		CodeChallenge: oauth.S256Challenge(verifier)}) // what the browser's sign-in returns

	cred, err := credential.NewAuthorizationCode(srv.TenantID(), "app", code, "http://localhost/cb",
		&credential.AuthorizationCodeOptions{CodeVerifier: verifier, AuthorityHost: srv.URL(), HTTPClient: srv.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cred.Close()
	ctx := context.Background()
	graph := credential.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}
	a, _ := cred.GetToken(ctx, graph)
	b, _ := cred.GetToken(ctx, graph)
	info, _ := cred.GetTokenInfo(ctx, credential.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	fmt.Println(a.Token == b.Token, info.TokenType, srv.TokenRequests())

	_, err = cred.GetToken(ctx, credential.TokenRequestOptions{})
	fmt.Println(errors.Is(err, credential.ErrInvalidInput))
	// Output:
	// true Bearer 2
	// true
}
