package cache_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// Persist tokens in a directory so that a later credential (or process) reuses the sign-in.
func Example() {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "entrakit-example")
	defer os.RemoveAll(dir)

	store, _ := cache.NewFileStore(filepath.Join(dir, "tokens"))
	tokens, _ := cache.New(&cache.Options{Store: store})
	code := srv.IssueCode(entratest.CodeRequest{ClientID: "app", RedirectURI: "http://localhost/cb",
		Scopes: []string{"openid", "offline_access"}}) // openid: Entra names the account in an id_token
	first, _ := credential.NewAuthorizationCode(srv.TenantID(), "app", code, "http://localhost/cb",
		&credential.AuthorizationCodeOptions{AuthorityHost: srv.URL(), HTTPClient: srv.Client(), Cache: tokens})
	defer first.Close()
	opts := credential.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}
	if _, err := first.GetToken(context.Background(), opts); err != nil {
		fmt.Println(err)
		return
	}

	// Later: a new cache on the same directory, and a credential for the account it holds.
	again, _ := cache.New(&cache.Options{Store: store})
	account := again.Accounts()[0]
	later, _ := credential.NewFromCache(srv.TenantID(), "app", account.HomeAccountID,
		&credential.RefreshTokenOptions{AuthorityHost: srv.URL(), HTTPClient: srv.Client(), Cache: again})
	defer later.Close()
	_, err := later.GetToken(context.Background(), opts)
	fmt.Println(account.Username, err == nil, srv.TokenRequests())
	// Output: alice@contoso.example true 1
}

// Seal the tokens at rest: the file holds no readable token, and only a holder of the key can
// use it. Here the key comes from the environment (a mounted secret works the same way with
// KeyFromFile); on a desktop, keyring.CacheKey("myapp") keeps one in the OS keyring.
func ExampleNewEncryptedStore() {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "entrakit-example")
	defer os.RemoveAll(dir)
	os.Setenv("MYAPP_CACHE_KEY", "bXktYXBwLWNhY2hlLWtleS0zMi1ieXRlcy1sb25nISE=") // openssl rand -base64 32

	files, _ := cache.NewFileStore(filepath.Join(dir, "tokens"))
	sealed, _ := cache.NewEncryptedStore(files, &cache.EncryptionOptions{
		Keys: []cache.KeySource{cache.KeyFromEnv("MYAPP_CACHE_KEY")},
	})
	tokens, _ := cache.New(&cache.Options{Store: sealed})
	code := srv.IssueCode(entratest.CodeRequest{ClientID: "app", RedirectURI: "http://localhost/cb",
		Scopes: []string{"openid", "offline_access"}})
	cred, _ := credential.NewAuthorizationCode(srv.TenantID(), "app", code, "http://localhost/cb",
		&credential.AuthorizationCodeOptions{AuthorityHost: srv.URL(), HTTPClient: srv.Client(), Cache: tokens})
	defer cred.Close()
	tok, err := cred.GetToken(context.Background(), credential.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	stored, _ := filepath.Glob(filepath.Join(dir, "tokens", "*.json"))
	data, _ := os.ReadFile(stored[0])
	fmt.Println(len(stored), bytes.Contains(data, []byte(tok.Token)))
	// Output: 1 false
}
