package entra_test

import (
	"fmt"
	"io"
	"net/url"

	"github.com/entrakit/entrakit/entra"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// Read the Entra fields of an error: here the fake asks for multi-factor authentication with a
// claims challenge, which the next request sends back, merged with the CAE capability.
func ExampleParseErrorFields() {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	srv.RequireClaims(entratest.User{})
	resp, err := srv.Client().PostForm(srv.TokenURL("organizations"), url.Values{"grant_type": {"refresh_token"},
		"client_id": {"app"}, "refresh_token": {srv.IssueRefreshToken("app", entratest.User{})}, "scope": {"openid"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	f := entra.ParseErrorFields(body)
	fmt.Println(resp.StatusCode, f.ErrorCodes, f.SubError)
	merged, _ := entra.MergeClaims(f.Claims, true)
	fmt.Println(merged)
	// Output:
	// 400 [50076] basic_action
	// {"access_token":{"capolids":{"essential":true,"values":["c1a1b2c3-0000-4000-8000-000000000001"]},"xms_cc":{"values":["CP1"]}}}
}
