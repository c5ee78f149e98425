package authority_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/entrakit/entrakit/authority"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// Resolve an authority and a request's tenant, build the token endpoint, and post to it (here
// the fake Entra; in production login.microsoftonline.com).
func Example() {
	srv := entratest.NewServer(nil)
	defer srv.Close()

	auth, err := authority.Parse(srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	tenant, err := authority.ResolveTenant("organizations", srv.TenantID(), nil, nil) // the organizations rule
	if err != nil {
		fmt.Println(err)
		return
	}
	endpoint, _ := auth.TokenEndpoint(tenant)
	fmt.Println(strings.TrimPrefix(endpoint, srv.URL()))

	resp, err := srv.Client().PostForm(endpoint, url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"},
		"refresh_token": {srv.IssueRefreshToken("app", entratest.User{})}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode == http.StatusOK)

	_, err = authority.ResolveTenant("home", "elsewhere", nil, nil)
	fmt.Println(err != nil)
	// Output:
	// /7f0c1b4e-3a5d-4c2b-9e8f-1a2b3c4d5e6f/oauth2/v2.0/token
	// true
	// true
}
