package main

import (
	"context"
	"fmt"
	"io"
	"os"

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
	cacheOpts := addCacheFlags(fs, "a later run reuses its tokens")
	var scopes scopeList
	fs.Var(&scopes, "scope", "a scope to request (repeatable; default https://management.azure.com/.default)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(scopes) == 0 {
		scopes = scopeList{"https://management.azure.com/.default"}
	}
	if err := checkCommon(*authorityHost, *tenant, scopes); err != nil {
		return err
	}
	if *settings != "" {
		// Named on the command line, it must be there: the defaults would hide a typo.
		if _, err := os.Stat(*settings); err != nil {
			return fmt.Errorf("--settings: %w", err)
		}
	}
	hc, err := httpClient(*caFile)
	if err != nil {
		return err
	}
	tokenCache, err := cacheOpts.open(stderr)
	if err != nil {
		return err
	}
	cred, err := vscode.NewCredential(&vscode.CredentialOptions{AuthorityHost: *authorityHost, TenantID: *tenant, SettingsPath: *settings,
		HTTPClient: hc, Cache: tokenCache})
	if err != nil {
		return err
	}
	defer cred.Close()
	info, err := cred.GetTokenInfo(ctx, credential.TokenRequestOptions{Scopes: scopes})
	if err != nil {
		return err
	}
	out := newTokenJSON(info, scopes, *showToken)
	if a, ok := cred.Account(); ok {
		out = out.with(a)
	}
	return printJSON(stdout, out)
}
