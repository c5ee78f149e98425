// Command entratoken gets Microsoft Entra ID access tokens with entrakit.
//
//	entratoken demo     the whole authorization-code flow against an in-process fake Entra
//	entratoken login    sign in with a browser (PKCE, loopback redirect) and print a token
//	entratoken vscode   a token as the user VS Code's Azure Account extension signed in
//
// Tokens print as JSON; the access token itself only with --show-token. Errors go to stderr
// with exit status 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	"github.com/entrakit/entrakit/keyring"
	"github.com/entrakit/entrakit/oauth"
)

const usage = `entratoken gets Microsoft Entra ID access tokens with entrakit.

Usage:
  entratoken <command> [flags]

Commands:
  demo    run the whole authorization-code flow (PKCE, cached call, refresh)
          against an in-process fake Entra ID; needs no network and no account
  login   sign in with a browser (PKCE, loopback redirect on 127.0.0.1) and
          print the token's details and the signed-in account
  vscode  the same, as the user VS Code's Azure Account extension signed in

Tokens print as JSON: token_type, expires_on (RFC 3339 and, as expires_on_unix,
Unix seconds), refresh_on, scopes and the account; the access token itself only
with --show-token.

Run "entratoken <command> --help" for a command's flags, "entratoken --version"
for the version.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "-version", "--version", "version":
		fmt.Fprintf(stdout, "entratoken %s (entrakit %s, %s)\n", oauth.Version, oauth.Version, runtime.Version())
		return 0
	case "demo":
		err = demo(ctx, args[1:], stdout, stderr)
	case "login":
		err = login(ctx, args[1:], stdout, stderr)
	case "vscode":
		err = vscodeToken(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "entratoken: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "entratoken %s: %v\n", args[0], err)
		return 1
	}
}

var errUsage = errors.New("usage")

// scopeList is a repeatable --scope flag.
type scopeList []string

func (s *scopeList) String() string { return strings.Join(*s, " ") }
func (s *scopeList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// tokenJSON is how a token prints: expires_on as RFC 3339 and expires_on_unix as Unix seconds
// (as `az account get-access-token` prints expires_on), the signed-in account when known.
type tokenJSON struct {
	Step          string       `json:"step,omitempty"`
	TokenType     string       `json:"token_type"`
	ExpiresOn     string       `json:"expires_on"`
	ExpiresOnUnix int64        `json:"expires_on_unix"`
	RefreshOn     string       `json:"refresh_on,omitempty"`
	Scopes        []string     `json:"scopes"`
	Account       *accountJSON `json:"account,omitempty"`
	Source        string       `json:"source,omitempty"`
	Grant         string       `json:"grant,omitempty"`
	Requests      *int         `json:"token_requests,omitempty"`
	AccessToken   string       `json:"access_token,omitempty"`
}

// accountJSON is the signed-in account.
type accountJSON struct {
	Username      string `json:"username,omitempty"`
	TenantID      string `json:"tenant_id,omitempty"`
	HomeAccountID string `json:"home_account_id"`
}

// with adds the account.
func (t tokenJSON) with(a cache.Account) tokenJSON {
	if a.HomeAccountID != "" {
		t.Account = &accountJSON{Username: a.Username, TenantID: a.TenantID, HomeAccountID: a.HomeAccountID}
	}
	return t
}

// newTokenJSON is how every command prints a token; the access token only when showToken.
func newTokenJSON(info credential.AccessTokenInfo, scopes []string, showToken bool) tokenJSON {
	out := tokenJSON{TokenType: info.TokenType, ExpiresOn: timeString(info.ExpiresOn), ExpiresOnUnix: info.ExpiresOn.Unix(),
		RefreshOn: timeString(info.RefreshOn), Scopes: scopes}
	if showToken {
		out.AccessToken = info.Token
	}
	return out
}

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newFlagSet(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("entratoken "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: entratoken %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		return errUsage
	}
	return nil
}

// cacheFlags are --cache and --cache-key-env, shared by the commands that keep tokens.
type cacheFlags struct {
	dir    *string
	keyEnv *string
}

func addCacheFlags(fs *flag.FlagSet, reuse string) cacheFlags {
	return cacheFlags{
		dir: fs.String("cache", "", "keep tokens in this directory (created 0700), sealed with a key from the OS keyring; "+reuse),
		keyEnv: fs.String("cache-key-env", "", "seal the --cache tokens with the key in this environment variable (base64 of 32 bytes, "+
			"as `openssl rand -base64 32` prints), instead of a key in the OS keyring"),
	}
}

// open opens the token cache of --cache, or returns nil without it. The tokens are sealed
// with the key of --cache-key-env, else one the OS keyring keeps; which one is used is said on
// stderr.
func (f cacheFlags) open(stderr io.Writer) (*cache.Cache, error) {
	if *f.dir == "" {
		if *f.keyEnv != "" {
			return nil, errors.New("--cache-key-env needs --cache")
		}
		return nil, nil
	}
	dir, err := filepath.Abs(*f.dir)
	if err != nil {
		return nil, err
	}
	fs, err := cache.NewFileStore(dir)
	if err != nil {
		return nil, err
	}
	keys := []cache.KeySource{keyring.CacheKey("entratoken " + dir)}
	if *f.keyEnv != "" {
		keys = []cache.KeySource{cache.KeyFromEnv(*f.keyEnv)}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sealed, err := cache.NewEncryptedStore(fs, &cache.EncryptionOptions{Keys: keys, Logger: logger})
	if err != nil {
		return nil, err
	}
	return cache.New(&cache.Options{Store: sealed, Logger: logger})
}

// cachedAccount returns an account of the cache signed in at the authority host env.
func cachedAccount(c *cache.Cache, env string) (string, bool) {
	for _, a := range c.Accounts() {
		if a.Environment == env {
			return a.HomeAccountID, true
		}
	}
	return "", false
}
