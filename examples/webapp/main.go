// Command webapp is a small web application whose users sign in with Microsoft Entra ID through
// entrakit's signin.WebApp, and whose pages show each user's notes, read from a protected API of
// the app's own on the user's behalf through credential.NewTransport. The users' tokens are kept
// per account in one shared cache: a directory (sealed with a key), or Redis for a fleet.
//
//	go run . --client-id APP_ID --client-secret-env WEBAPP_SECRET \
//	    --cookie-key-env WEBAPP_COOKIE_KEY --cache ./tokens --cache-key-env WEBAPP_CACHE_KEY
//
// Register http://127.0.0.1:8080/auth/callback (or --public-url's) as a web redirect URI of the
// app, and expose an API scope api://APP_ID/notes. Keys are base64 of 32 bytes
// (openssl rand -base64 32). Sessions are sealed cookies, so a restart keeps users signed in.
//
// Pages: / (the user's notes), /signin (?login_hint=), /signout, and the API: /api/notes.
package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	"github.com/entrakit/entrakit/keyring"
	"github.com/entrakit/entrakit/redisstore"
	"github.com/entrakit/entrakit/signin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

// app is the running application.
type app struct {
	clientID, secret, tenant, authority, publicURL string
	httpClient                                     *http.Client
	tokens                                         *cache.Cache
	sessions                                       cipher.AEAD
	api                                            *notesAPI
}

// run serves until ctx ends. ready, when not nil, receives the address it listens on.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on")
	publicURL := fs.String("public-url", "", "the app's URL as browsers reach it (default http://LISTEN)")
	authorityHost := fs.String("authority", "", "authority host (default login.microsoftonline.com)")
	tenant := fs.String("tenant", "organizations", "tenant ID or domain")
	clientID := fs.String("client-id", "", "application (client) ID (required)")
	secretEnv := fs.String("client-secret-env", "", "environment variable holding the client secret")
	cookieKeyEnv := fs.String("cookie-key-env", "", "environment variable holding the key that seals cookies (required)")
	cacheDir := fs.String("cache", "", "keep the users' tokens in this directory")
	redisAddr := fs.String("redis", "", "keep the users' tokens in this Redis instead (host:port)")
	cacheKeyEnv := fs.String("cache-key-env", "", "environment variable holding the key that seals the tokens (default: the OS keyring, for --cache)")
	caFile := fs.String("ca-file", "", "PEM file of extra CA certificates to trust (a test authority)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clientID == "" || *cookieKeyEnv == "" {
		return errors.New("--client-id and --cookie-key-env are required")
	}
	cookieKey, err := base64.StdEncoding.DecodeString(os.Getenv(*cookieKeyEnv))
	if err != nil || len(cookieKey) != 32 {
		return fmt.Errorf("--cookie-key-env: $%s must hold base64 of 32 bytes", *cookieKeyEnv)
	}
	hc, err := httpClient(*caFile)
	if err != nil {
		return err
	}
	tokens, err := openTokens(*cacheDir, *redisAddr, *cacheKeyEnv, *clientID)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	if *publicURL == "" {
		*publicURL = "http://" + ln.Addr().String()
	}
	block, _ := aes.NewCipher(cookieKey)
	sessions, _ := cipher.NewGCMWithRandomNonce(block)
	authority := *authorityHost
	if authority == "" {
		authority = "https://login.microsoftonline.com"
	} else if !strings.Contains(authority, "://") {
		authority = "https://" + authority
	}
	a := &app{clientID: *clientID, secret: os.Getenv(*secretEnv), tenant: *tenant, authority: authority, publicURL: strings.TrimSuffix(*publicURL, "/"),
		httpClient: hc, tokens: tokens, sessions: sessions}
	a.api = &notesAPI{audience: "api://" + *clientID, authority: authority, tenant: *tenant, client: hc, notes: map[string][]string{}}

	web, err := signin.NewWebApp(signin.Config{ClientID: *clientID, TenantID: *tenant, ClientSecret: a.secret,
		Scopes: []string{a.api.audience + "/notes"}, AuthorityHost: authority, HTTPClient: hc, Cache: tokens},
		signin.WebAppOptions{RedirectURI: a.publicURL + "/auth/callback", CookieKey: cookieKey, OnSignIn: a.signedIn,
			Options: func(r *http.Request) *signin.RequestOptions {
				return &signin.RequestOptions{LoginHint: r.URL.Query().Get("login_hint")}
			}})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /signin", web.StartHandler())
	mux.Handle("GET /auth/callback", web.CallbackHandler())
	mux.HandleFunc("GET /signout", a.signOut)
	mux.HandleFunc("GET /{$}", a.home)
	mux.Handle("GET /api/notes", a.api)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openTokens opens the shared token cache: Redis, a directory, or memory.
func openTokens(dir, redisAddr, keyEnv, clientID string) (*cache.Cache, error) {
	logger := log.New(os.Stderr, "webapp: ", 0)
	onDown := func(err error) { logger.Print(err) }
	keys := []cache.KeySource{keyring.CacheKey("webapp " + clientID)}
	if keyEnv != "" {
		keys = []cache.KeySource{cache.KeyFromEnv(keyEnv)}
	}
	switch {
	case redisAddr != "":
		st, err := redisstore.New(redis.NewClient(&redis.Options{Addr: redisAddr}), &redisstore.Options{Keys: keys, OnFailure: onDown})
		if err != nil {
			return nil, err
		}
		return cache.New(&cache.Options{Store: st, OnStoreUnavailable: onDown})
	case dir != "":
		fs, err := cache.NewFileStore(dir)
		if err != nil {
			return nil, err
		}
		st, err := cache.NewEncryptedStore(fs, &cache.EncryptionOptions{Keys: keys})
		if err != nil {
			return nil, err
		}
		return cache.New(&cache.Options{Store: st})
	}
	return cache.New(nil)
}

// session cookies hold the signed-in user's home account ID, sealed.
const sessionCookie = "webapp_session"

func (a *app) signedIn(w http.ResponseWriter, r *http.Request, res *signin.Result, returnTo string) {
	res.Credential.Close() // later requests make their own from the shared cache
	// The sealed session is a fresh nonce, then the ciphertext of the account ID.
	sealed := a.sessions.Seal(nil, nil, []byte(res.Account.HomeAccountID), []byte(sessionCookie))
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: "/",
		MaxAge: 8 * 3600, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	if returnTo == "" {
		returnTo = "/"
	}
	http.Redirect(w, r, returnTo, http.StatusFound)
}

// account returns the session's home account ID, or "".
func (a *app) account(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return ""
	}
	id, err := a.sessions.Open(nil, nil, b, []byte(sessionCookie))
	if err != nil {
		return ""
	}
	return string(id)
}

var homePage = template.Must(template.New("home").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Notes</title></head><body>
{{if .Owner}}<h1>Notes of {{.Owner}}</h1><ul>{{range .Notes}}<li class="note">{{.}}</li>{{end}}</ul><p><a href="/signout">Sign out</a></p>
{{else}}<h1>Not signed in</h1><p><a href="/signin">Sign in</a></p>{{end}}
{{with .Error}}<p class="error">{{.}}</p>{{end}}
</body></html>
`))

type homeData struct {
	Owner, Error string
	Notes        []string
}

// home shows the signed-in user's notes, read from the API with the user's token.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	account := a.account(r)
	if account == "" {
		_ = homePage.Execute(w, homeData{})
		return
	}
	cred, err := credential.NewFromCache(a.tenant, a.clientID, account, &credential.RefreshTokenOptions{
		AuthorityHost: a.authority, HTTPClient: a.httpClient, Cache: a.tokens, ClientSecret: a.secret})
	if err != nil {
		_ = homePage.Execute(w, homeData{Error: err.Error()})
		return
	}
	defer cred.Close()
	client := &http.Client{Transport: credential.NewTransport(nil, cred, credential.TokenRequestOptions{Scopes: []string{a.api.audience + "/notes"}})}
	notes, err := a.api.fetch(r.Context(), client, a.publicURL+"/api/notes")
	if err != nil {
		_ = homePage.Execute(w, homeData{Error: "sign in again: " + err.Error()})
		return
	}
	_ = homePage.Execute(w, homeData{Owner: notes.Owner, Notes: notes.Notes})
}

// signOut forgets the user's tokens (for every instance sharing the cache) and the session.
func (a *app) signOut(w http.ResponseWriter, r *http.Request) {
	if account := a.account(r); account != "" {
		if err := a.tokens.RemoveAccount(r.Context(), account); err != nil {
			http.Error(w, "sign-out failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusFound)
}

// httpClient trusts the system roots plus caFile's certificates.
func httpClient(caFile string) (*http.Client, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}
