package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/entrakit/entrakit/authority"
	"github.com/entrakit/entrakit/credential"
	"github.com/entrakit/entrakit/signin"
)

// DefaultLoginClientID is the public client that azure-identity's developer sign-on uses (the
// Azure CLI's); it accepts loopback redirect URIs.
const DefaultLoginClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

func login(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("login", "Signs in with a browser (authorization code with PKCE, a loopback redirect on 127.0.0.1)\n"+
		"and prints the token's details and the signed-in account as JSON (the token itself with --show-token).", stderr)
	authorityHost := fs.String("authority", "", "authority host (default $AZURE_AUTHORITY_HOST, else login.microsoftonline.com)")
	tenant := fs.String("tenant", "organizations", "tenant ID or domain")
	clientID := fs.String("client-id", DefaultLoginClientID, "application (client) ID")
	var scopes scopeList
	fs.Var(&scopes, "scope", "a scope to request (repeatable; default https://management.azure.com/.default)")
	port := fs.Int("port", 0, "loopback port for the redirect (default: a random free port)")
	noBrowser := fs.Bool("no-browser", false, "print the sign-in URL instead of opening a browser")
	timeout := fs.Duration("timeout", signin.DefaultLoopbackTimeout, "how long to wait for the sign-in")
	secretEnv := fs.String("client-secret-env", "", "name of an environment variable holding the client secret (confidential clients)")
	caFile := fs.String("ca-file", "", "PEM file of extra CA certificates to trust (e.g. a test authority)")
	showToken := fs.Bool("show-token", false, "print the access token too")
	cacheOpts := addCacheFlags(fs, "a later run with the same directory reuses the sign-in")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(scopes) == 0 {
		scopes = scopeList{"https://management.azure.com/.default"}
	}
	// Every argument is checked, and named as the user typed it, before a browser opens.
	if err := checkCommon(*authorityHost, *tenant, scopes); err != nil {
		return err
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout %v: the sign-in needs time; give a positive duration such as 5m", *timeout)
	}
	if *port < 0 || *port > 65535 {
		return fmt.Errorf("--port %d is not a port", *port)
	}
	var secret string
	if *secretEnv != "" {
		if secret = os.Getenv(*secretEnv); secret == "" {
			return fmt.Errorf("--client-secret-env: the environment variable %s is empty or unset", *secretEnv)
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
	auth, _ := authority.Resolve(*authorityHost, os.Getenv) // checked above
	if tokenCache != nil {
		if account, ok := cachedAccount(tokenCache, auth.Host()); ok {
			cred, err := credential.NewFromCache(*tenant, *clientID, account, &credential.RefreshTokenOptions{
				ClientSecret: secret, AuthorityHost: auth.URL(), HTTPClient: hc, Cache: tokenCache, AdditionallyAllowedTenants: []string{"*"}})
			if err != nil {
				return err
			}
			defer cred.Close()
			info, err := cred.GetTokenInfo(ctx, credential.TokenRequestOptions{Scopes: scopes})
			if err == nil {
				a, _ := cred.Account()
				return printJSON(stdout, newTokenJSON(info, scopes, *showToken).with(a))
			}
			fmt.Fprintf(stderr, "the cached sign-in could not be used (%v); signing in again\n", err)
		}
	}
	cfg := signin.Config{ClientID: *clientID, TenantID: *tenant, ClientSecret: secret, Scopes: scopes, AuthorityHost: auth.URL(),
		AdditionallyAllowedTenants: []string{"*"}, HTTPClient: hc, Cache: tokenCache}
	res, err := cfg.Loopback(ctx, &signin.LoopbackOptions{Port: *port, NoBrowser: *noBrowser, Timeout: *timeout, Out: stderr,
		OpenBrowser: openBrowser, RequestOptions: signin.RequestOptions{Prompt: "select_account"}})
	if err != nil {
		return err
	}
	defer res.Credential.Close()
	fmt.Fprintf(stderr, "Signed in as %s (tenant %s).\n", orUnknown(res.Account.Username), orUnknown(res.Account.TenantID))
	return printJSON(stdout, newTokenJSON(res.Token, scopes, *showToken).with(res.Account))
}

// openBrowser opens the browser; tests replace it.
var openBrowser = signin.OpenSystemBrowser

func orUnknown(s string) string {
	if s == "" {
		return "an account with no user name"
	}
	return s
}

// checkCommon checks --authority, --tenant and --scope, naming the flag in the error.
func checkCommon(authorityHost, tenant string, scopes []string) error {
	if _, err := authority.Resolve(authorityHost, os.Getenv); err != nil {
		if authorityHost == "" {
			return fmt.Errorf("$%s: %w", authority.EnvAuthorityHost, err)
		}
		return fmt.Errorf("--authority: %w", err)
	}
	if tenant != "" {
		if err := authority.ValidateTenantID(tenant); err != nil {
			return fmt.Errorf("--tenant: %w", err)
		}
	}
	if err := (credential.TokenRequestOptions{Scopes: scopes}).Validate("--scope"); err != nil {
		return fmt.Errorf("--scope: %w", err)
	}
	return nil
}

// httpClient trusts the system roots plus the certificates in caFile, if given.
func httpClient(caFile string) (*http.Client, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file: %s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}
