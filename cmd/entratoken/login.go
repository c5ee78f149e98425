package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/entrakit/entrakit/authority"
	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	"github.com/entrakit/entrakit/oauth"
)

// DefaultLoginClientID is the public client that azure-identity's developer sign-on uses (the
// Azure CLI's); it accepts loopback redirect URIs.
const DefaultLoginClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

const successPage = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>entratoken</title></head>
<body><h1>Signed in</h1><p>You can close this window and return to the terminal.</p></body></html>`

func login(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("login", "Signs in with a browser (authorization code with PKCE and a loopback redirect on 127.0.0.1)\nand prints the token as JSON.", stderr)
	authorityHost := fs.String("authority", "", "authority host (default $AZURE_AUTHORITY_HOST, else login.microsoftonline.com)")
	tenant := fs.String("tenant", "organizations", "tenant ID or domain")
	clientID := fs.String("client-id", DefaultLoginClientID, "application (client) ID")
	var scopes scopeList
	fs.Var(&scopes, "scope", "a scope to request (repeatable; default https://management.azure.com/.default)")
	port := fs.Int("port", 0, "loopback port for the redirect (default: a random free port)")
	noBrowser := fs.Bool("no-browser", false, "print the sign-in URL instead of opening a browser")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the sign-in")
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
	if *port < 0 || *port > 65535 {
		return fmt.Errorf("--port %d is not a port", *port)
	}
	auth, err := authority.Resolve(*authorityHost, os.Getenv)
	if err != nil {
		return err
	}
	authorizeURL, err := auth.AuthorizeEndpoint(*tenant)
	if err != nil {
		return err
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
	print := func(info credential.AccessTokenInfo) error {
		return printJSON(stdout, newTokenJSON(info, scopes, *showToken))
	}
	var tokenCache *cache.Cache
	if *cacheOpts.dir != "" {
		if tokenCache, err = cacheOpts.open(stderr); err != nil {
			return err
		}
		if account, ok := cachedAccount(tokenCache, auth.Host()); ok {
			cred, err := credential.NewFromCache(*tenant, *clientID, account, &credential.RefreshTokenOptions{
				ClientSecret: secret, AuthorityHost: auth.URL(), HTTPClient: hc, Cache: tokenCache, AdditionallyAllowedTenants: []string{"*"}})
			if err != nil {
				return err
			}
			info, err := cred.GetTokenInfo(ctx, credential.TokenRequestOptions{Scopes: scopes})
			cred.Close()
			if err == nil {
				return print(info)
			}
			fmt.Fprintf(stderr, "the cached sign-in could not be used (%v); signing in again\n", err)
		}
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("loopback listener: %w", err)
	}
	defer ln.Close()
	redirectURI := "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/"
	verifier, state := oauth.NewVerifier(), rand.Text()
	q := url.Values{
		"client_id": {*clientID}, "response_type": {"code"}, "redirect_uri": {redirectURI},
		"scope": {"openid profile offline_access " + strings.Join(scopes, " ")}, "state": {state},
		"code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"}, "prompt": {"select_account"},
	}
	signInURL := authorizeURL + "?" + q.Encode()

	type result struct {
		code string
		err  error
	}
	results := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		p := r.URL.Query()
		var res result
		switch {
		case subtle.ConstantTimeCompare([]byte(p.Get("state")), []byte(state)) != 1:
			res.err = errors.New("the redirect's state does not match the request's: possible CSRF, sign-in abandoned")
		case p.Get("error") != "":
			res.err = fmt.Errorf("sign-in failed: %s: %s", p.Get("error"), oauth.FirstLine(p.Get("error_description")))
		case p.Get("code") == "":
			res.err = errors.New("the redirect carried no code")
		default:
			res.code = p.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if res.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<!DOCTYPE html><html><body><h1>Sign-in failed</h1><p>Return to the terminal for details.</p></body></html>")
		} else {
			_, _ = io.WriteString(w, successPage)
		}
		select {
		case results <- res:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	fmt.Fprintf(stderr, "Sign in at:\n%s\n", signInURL)
	if !*noBrowser {
		if err := openBrowser(signInURL); err != nil {
			fmt.Fprintf(stderr, "could not open a browser (%v); open the URL above yourself\n", err)
		}
	}
	var res result
	wait, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	select {
	case res = <-results:
	case <-wait.Done():
		return fmt.Errorf("no sign-in within %v", *timeout)
	}
	if res.err != nil {
		return res.err
	}

	cred, err := credential.NewAuthorizationCode(*tenant, *clientID, res.code, redirectURI, &credential.AuthorizationCodeOptions{
		ClientSecret: secret, CodeVerifier: verifier, AuthorityHost: auth.URL(), HTTPClient: hc, AdditionallyAllowedTenants: []string{"*"},
		Cache: tokenCache})
	if err != nil {
		return err
	}
	defer cred.Close()
	info, err := cred.GetTokenInfo(ctx, credential.TokenRequestOptions{Scopes: scopes})
	if err != nil {
		return err
	}
	return print(info)
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

// openBrowser opens url in the system browser without a shell.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	case "darwin":
		cmd = exec.Command("open", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
