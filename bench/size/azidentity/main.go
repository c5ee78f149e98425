// Command azidentity gets a token with azidentity (ClientSecretCredential: azidentity v1.10 has
// no authorization code credential left), for the binary size comparison.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: azidentity TENANT CLIENT SECRET")
		os.Exit(2)
	}
	cred, err := azidentity.NewClientSecretCredential(os.Args[1], os.Args[2], os.Args[3], nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(tok.ExpiresOn)
}
