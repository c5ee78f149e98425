package azsdk_test

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/entrakit/entrakit/azsdk"
	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// Any Azure SDK client takes the adapted credential, e.g. azsecrets.NewClient(url, cred, nil).
func ExampleNewTokenCredential() {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	code := srv.IssueCode(entratest.CodeRequest{ClientID: "app", RedirectURI: "http://localhost/cb"})
	entrakitCred, _ := credential.NewAuthorizationCode(srv.TenantID(), "app", code, "http://localhost/cb",
		&credential.AuthorizationCodeOptions{AuthorityHost: srv.URL(), HTTPClient: srv.Client()})
	defer entrakitCred.Close()

	cred := azsdk.NewTokenCredential(entrakitCred)
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
	fmt.Println(tok.Token != "", err)
	// Output: true <nil>
}
