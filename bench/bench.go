package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// The one app registration every library uses against the fake.
const (
	ClientID = "6d3a1f0e-2b4c-4d5e-8f9a-0b1c2d3e4f5a"
	Secret   = "bench-client-secret"
	Redirect = "http://localhost/callback"
	Scope    = "https://graph.microsoft.com/.default"
)

// TB is the part of testing.TB the helpers use, so that the report command can call them too.
type TB interface {
	Helper()
	Fatal(args ...any)
	Error(args ...any)
}

// NewServer starts the loopback TLS fake Entra in this process.
func NewServer(opts *entratest.Options) *entratest.Server {
	srv := entratest.NewServer(opts)
	srv.AddClient(entratest.Client{ID: ClientID, Secret: Secret})
	return srv
}

// fake is what the helpers need of a fake, in this process or another.
type fake struct {
	url, tenant string
	client      *http.Client
	code        func() string
}

func inProcess(srv *entratest.Server) fake {
	return fake{url: srv.URL(), tenant: srv.TenantID(), client: srv.Client(), code: func() string {
		return srv.IssueCode(entratest.CodeRequest{ClientID: ClientID, RedirectURI: Redirect, Scopes: []string{"openid", "offline_access"}})
	}}
}

func (r *Remote) fake(tb TB) fake {
	return fake{url: r.URL, tenant: r.Tenant, client: r.Client, code: func() string { return r.Codes(tb, 1)[0] }}
}

// ScopeSet is the i-th of the scope sets the round-robin benchmarks cycle through.
func ScopeSet(i int) []string {
	if i == 0 {
		return []string{Scope}
	}
	return []string{fmt.Sprintf("https://app-%05d.contoso.example/.default", i)}
}

// entrakitFor returns an AuthorizationCode credential with a token cached for each of the
// first n scope sets (fetched concurrently).
func entrakitFor(tb TB, f fake, c *cache.Cache, now func() time.Time, n int) *credential.AuthorizationCode {
	tb.Helper()
	cred, err := credential.NewAuthorizationCode(f.tenant, ClientID, f.code(), Redirect, &credential.AuthorizationCodeOptions{
		ClientSecret: Secret, AuthorityHost: f.url, HTTPClient: f.client, Cache: c, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	get := func(i int) {
		if _, err := cred.GetToken(context.Background(), credential.TokenRequestOptions{Scopes: ScopeSet(i)}); err != nil {
			tb.Error(err)
		}
	}
	get(0) // redeems the code
	parallel(n-1, 8, func(i int) { get(i + 1) })
	return cred
}

// parallel runs f(0..n-1) on workers goroutines.
func parallel(n, workers int, f func(int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Entrakit returns an AuthorizationCode credential against srv with its first token cached.
// now, when not nil, is the credential's clock.
func Entrakit(tb TB, srv *entratest.Server, c *cache.Cache, now func() time.Time) *credential.AuthorizationCode {
	return entrakitFor(tb, inProcess(srv), c, now, 1)
}

// msalFor returns MSAL Go's confidential client with a token cached for each of the first n
// scope sets, and the account.
func msalFor(tb TB, f fake, n int) (confidential.Client, confidential.Account) {
	tb.Helper()
	cred, err := confidential.NewCredFromSecret(Secret)
	if err != nil {
		tb.Fatal(err)
	}
	app, err := confidential.New(f.url+"/"+f.tenant, ClientID, cred,
		confidential.WithHTTPClient(f.client), confidential.WithInstanceDiscovery(false))
	if err != nil {
		tb.Fatal(err)
	}
	res, err := app.AcquireTokenByAuthCode(context.Background(), f.code(), Redirect, ScopeSet(0))
	if err != nil {
		tb.Fatal(err)
	}
	for i := 1; i < n; i++ { // MSAL's cache is not safe for this many concurrent writers: one by one
		if _, err := app.AcquireTokenSilent(context.Background(), ScopeSet(i), confidential.WithSilentAccount(res.Account)); err != nil {
			tb.Fatal(err)
		}
	}
	return app, res.Account
}

// MSAL returns MSAL Go's confidential client with a token redeemed from a code, and the account.
func MSAL(tb TB, srv *entratest.Server) (confidential.Client, confidential.Account) {
	return msalFor(tb, inProcess(srv), 1)
}

// azidentityFor returns azidentity's ClientSecretCredential with a token cached for each of
// the first n scope sets.
func azidentityFor(tb TB, f fake, n int) *azidentity.ClientSecretCredential {
	tb.Helper()
	cred, err := azidentity.NewClientSecretCredential(f.tenant, ClientID, Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: f.url + "/"}, Transport: f.client},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		if _, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: ScopeSet(i)}); err != nil {
			tb.Fatal(err)
		}
	}
	return cred
}

// Azidentity returns azidentity's ClientSecretCredential with its first token cached.
func Azidentity(tb TB, srv *entratest.Server) *azidentity.ClientSecretCredential {
	return azidentityFor(tb, inProcess(srv), 1)
}

// Stampede counts the token requests each library sends when n callers at once ask for a token
// that needs refreshing. Each gets its own fake.
func Stampede(tb TB, n int) map[string]int {
	out := map[string]int{}
	call := func(f func() error) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := f(); err != nil {
					tb.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
	}

	{ // entrakit: the clock moves past the token's expiry.
		srv := NewServer(nil)
		var mu sync.Mutex
		offset := time.Duration(0)
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
		cred := Entrakit(tb, srv, nil, now)
		mu.Lock()
		offset = 2 * time.Hour
		mu.Unlock()
		before := srv.TokenRequests()
		opts := credential.TokenRequestOptions{Scopes: []string{Scope}}
		call(func() error { _, err := cred.GetToken(context.Background(), opts); return err })
		out["entrakit"] = srv.TokenRequests() - before
		srv.Close()
	}
	// MSAL and azidentity read the real clock: the fake issues tokens living 5 minutes and 2
	// seconds, and 3 seconds later they are inside both libraries' 5-minute refresh window. A
	// new token is outside it again, so one refresh serves every caller.
	lifetime := &entratest.Options{AccessTokenLifetime: 5*time.Minute + 2*time.Second}
	{
		srv := NewServer(lifetime)
		app, account := MSAL(tb, srv)
		time.Sleep(3 * time.Second)
		before := srv.TokenRequests()
		call(func() error {
			_, err := app.AcquireTokenSilent(context.Background(), []string{Scope}, confidential.WithSilentAccount(account))
			return err
		})
		out["MSAL Go"] = srv.TokenRequests() - before
		srv.Close()
	}
	{
		srv := NewServer(lifetime)
		cred := Azidentity(tb, srv)
		time.Sleep(3 * time.Second)
		before := srv.TokenRequests()
		call(func() error {
			_, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{Scope}})
			return err
		})
		out["azidentity"] = srv.TokenRequests() - before
		srv.Close()
	}
	return out
}
