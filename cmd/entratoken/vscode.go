package main

import (
	"context"
	"io"

	"github.com/entrakit/entrakit/credential"
	"github.com/entrakit/entrakit/vscode"
)

func vscodeToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("vscode", "Gets a token as the user VS Code's Azure Account extension (up to 0.9.11) signed in:\nsettings from VS Code's settings.json, the refresh token from the OS credential store.", stderr)
	authorityHost := fs.String("authority", "", "authority host (default $AZURE_AUTHORITY_HOST, else from \"azure.cloud\")")
	tenant := fs.String("tenant", "", "tenant ID (default \"azure.tenant\", else organizations)")
	settings := fs.String("settings", "", "VS Code's settings.json (default: the OS's user settings)")
	caFile := fs.String("ca-file", "", "PEM file of extra CA certificates to trust (e.g. a test authority)")
	showToken := fs.Bool("show-token", false, "print the access token too")
	var scopes scopeList
	fs.Var(&scopes, "scope", "a scope to request (repeatable; default https://management.azure.com/.default)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(scopes) == 0 {
		scopes = scopeList{"https://management.azure.com/.default"}
	}
	hc, err := httpClient(*caFile)
	if err != nil {
		return err
	}
	cred, err := vscode.NewCredential(&vscode.CredentialOptions{AuthorityHost: *authorityHost, TenantID: *tenant, SettingsPath: *settings, HTTPClient: hc})
	if err != nil {
		return err
	}
	defer cred.Close()
	info, err := cred.GetTokenInfo(ctx, credential.TokenRequestOptions{Scopes: scopes})
	if err != nil {
		return err
	}
	return printJSON(stdout, newTokenJSON(info, scopes, *showToken))
}
