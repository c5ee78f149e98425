package oauth_test

import (
	"context"
	"errors"
	"fmt"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/oauth"
)

// Redeem an authorization code with PKCE, then see what a replayed code gives.
func ExampleClient_Exchange() {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	verifier := oauth.NewVerifier()
	code := srv.IssueCode(entratest.CodeRequest{ClientID: "app", RedirectURI: "http://localhost/cb",
		CodeChallenge: oauth.S256Challenge(verifier)})

	c := &oauth.Client{HTTPClient: srv.Client()}
	grant := oauth.AuthCodeGrant{ClientID: "app", Code: code, RedirectURI: "http://localhost/cb",
		Scopes: []string{"https://graph.microsoft.com/.default", "offline_access"}, CodeVerifier: verifier}
	tok, err := c.Exchange(context.Background(), srv.TokenURL(srv.TenantID()), grant.Form())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.TokenType, tok.RefreshToken != "", tok.ExpiresOn.Sub(tok.RequestTime))

	_, err = c.Exchange(context.Background(), srv.TokenURL(srv.TenantID()), grant.Form())
	var re *oauth.RetrieveError
	fmt.Println(errors.As(err, &re), re.StatusCode, re.ErrorCode)
	// Output:
	// Bearer true 1h0m0s
	// true 400 invalid_grant
}
