// Command entrakit is the smallest program that redeems a code with credential.AuthorizationCode,
// for the binary size comparison.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/entrakit/entrakit/credential"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: entrakit TENANT CLIENT CODE REDIRECT")
		os.Exit(2)
	}
	cred, err := credential.NewAuthorizationCode(os.Args[1], os.Args[2], os.Args[3], os.Args[4], nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tok, err := cred.GetToken(context.Background(), credential.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(tok.ExpiresOn)
}
