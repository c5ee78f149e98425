package entratest_test

import (
	"encoding/json"
	"fmt"
	"net/url"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// A test starts the fake, mints a code as the authorize endpoint would, and redeems it.
// Any OAuth client works: point it at srv.URL() and use srv.Client(), which trusts the fake's
// certificate.
func Example() {
	srv := entratest.NewServer(&entratest.Options{StrictRotation: true})
	defer srv.Close()

	code := srv.IssueCode(entratest.CodeRequest{ClientID: "my-app", RedirectURI: "http://localhost/cb"})
	resp, err := srv.Client().PostForm(srv.TokenURL(srv.TenantID()), url.Values{
		"grant_type": {"authorization_code"}, "client_id": {"my-app"}, "code": {code},
		"redirect_uri": {"http://localhost/cb"}, "scope": {"https://graph.microsoft.com/.default"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	fmt.Println(resp.StatusCode, body["token_type"], body["expires_in"], srv.TokenRequests())
	// Output: 200 Bearer 3600 1
}
