// Command nethttp redeems a code with a bare net/http POST and a JSON decode, for the binary size
// comparison.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: nethttp TENANT CLIENT CODE REDIRECT")
		os.Exit(2)
	}
	resp, err := http.PostForm("https://login.microsoftonline.com/"+os.Args[1]+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {os.Args[2]}, "code": {os.Args[3]},
		"redirect_uri": {os.Args[4]}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	var tok struct {
		ExpiresIn int `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(tok.ExpiresIn)
}
