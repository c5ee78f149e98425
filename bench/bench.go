package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/oauth2"

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

// NewServer starts the loopback TLS fake Entra that every benchmark uses.
func NewServer(opts *entratest.Options) *entratest.Server {
	srv := entratest.NewServer(opts)
	srv.AddClient(entratest.Client{ID: ClientID, Secret: Secret})
	return srv
}

// Entrakit returns an AuthorizationCode credential with its first token cached. now, when not
// nil, is the credential's clock.
func Entrakit(tb TB, srv *entratest.Server, c *cache.Cache, now func() time.Time) *credential.AuthorizationCode {
	code := srv.IssueCode(entratest.CodeRequest{ClientID: ClientID, RedirectURI: Redirect, Scopes: []string{"openid", "offline_access"}})
	cred, err := credential.NewAuthorizationCode(srv.TenantID(), ClientID, code, Redirect, &credential.AuthorizationCodeOptions{
		ClientSecret: Secret, AuthorityHost: srv.URL(), HTTPClient: srv.Client(), Cache: c, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := cred.GetToken(context.Background(), credential.TokenRequestOptions{Scopes: []string{Scope}}); err != nil {
		tb.Fatal(err)
	}
	return cred
}

// MSAL returns MSAL Go's confidential client with a token redeemed from a code, and the account.
func MSAL(tb TB, srv *entratest.Server) (confidential.Client, confidential.Account) {
	cred, err := confidential.NewCredFromSecret(Secret)
	if err != nil {
		tb.Fatal(err)
	}
	app, err := confidential.New(srv.URL()+"/"+srv.TenantID(), ClientID, cred,
		confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		tb.Fatal(err)
	}
	code := srv.IssueCode(entratest.CodeRequest{ClientID: ClientID, RedirectURI: Redirect, Scopes: []string{"openid", "offline_access"}})
	res, err := app.AcquireTokenByAuthCode(context.Background(), code, Redirect, []string{Scope})
	if err != nil {
		tb.Fatal(err)
	}
	return app, res.Account
}

// Azidentity returns azidentity's ClientSecretCredential with its first token cached.
func Azidentity(tb TB, srv *entratest.Server) *azidentity.ClientSecretCredential {
	cred, err := azidentity.NewClientSecretCredential(srv.TenantID(), ClientID, Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL() + "/"}, Transport: srv.Client()},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{Scope}}); err != nil {
		tb.Fatal(err)
	}
	return cred
}

// CachedEntrakit: GetToken served from the cache, one key.
func CachedEntrakit(b *testing.B) {
	srv := NewServer(nil)
	defer srv.Close()
	cred := Entrakit(b, srv, nil, nil)
	opts := credential.TokenRequestOptions{Scopes: []string{Scope}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := cred.GetToken(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// CachedEntrakit10000Keys: the same with 10,000 other keys in the cache.
func CachedEntrakit10000Keys(b *testing.B) {
	srv := NewServer(nil)
	defer srv.Close()
	c, _ := cache.New(nil)
	exp := time.Now().Add(time.Hour)
	for i := range 10_000 {
		c.PutAccessToken(cache.Key{Environment: srv.Host(), Tenant: srv.TenantID(), ClientID: ClientID,
			Account: fmt.Sprintf("%08d-0000-4000-8000-000000000000.%s", i, srv.TenantID()), Scopes: []string{Scope}},
			cache.AccessToken{Secret: "x", TokenType: "Bearer", ExpiresOn: exp})
	}
	cred := Entrakit(b, srv, c, nil)
	opts := credential.TokenRequestOptions{Scopes: []string{Scope}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := cred.GetToken(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// CachedMSAL: MSAL Go's AcquireTokenSilent with the account, served from its cache.
func CachedMSAL(b *testing.B) {
	srv := NewServer(nil)
	defer srv.Close()
	app, account := MSAL(b, srv)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := app.AcquireTokenSilent(ctx, []string{Scope}, confidential.WithSilentAccount(account)); err != nil {
			b.Fatal(err)
		}
	}
}

// CachedMSAL1000Accounts: the same with 1,000 other accounts signed in through the same app.
func CachedMSAL1000Accounts(b *testing.B) {
	srv := NewServer(nil)
	defer srv.Close()
	app, account := MSAL(b, srv)
	for i := range 1000 {
		u := entratest.User{ObjectID: fmt.Sprintf("%08d-0000-4000-8000-000000000000", i), Username: fmt.Sprintf("user%d@contoso.example", i)}
		srv.AddUser(u)
		code := srv.IssueCode(entratest.CodeRequest{ClientID: ClientID, RedirectURI: Redirect, Scopes: []string{"openid", "offline_access"}, User: u})
		if _, err := app.AcquireTokenByAuthCode(context.Background(), code, Redirect, []string{Scope}); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := app.AcquireTokenSilent(ctx, []string{Scope}, confidential.WithSilentAccount(account)); err != nil {
			b.Fatal(err)
		}
	}
}

// CachedAzidentity: azidentity's ClientSecretCredential.GetToken served from its cache.
func CachedAzidentity(b *testing.B) {
	srv := NewServer(nil)
	defer srv.Close()
	cred := Azidentity(b, srv)
	ctx := context.Background()
	opts := policy.TokenRequestOptions{Scopes: []string{Scope}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := cred.GetToken(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// CachedOAuth2: x/oauth2's ReuseTokenSource with a valid token (no Entra logic at all: the floor).
func CachedOAuth2(b *testing.B) {
	ts := oauth2.ReuseTokenSource(&oauth2.Token{AccessToken: "x", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// ColdEntrakit: a new credential redeeming a new code, per iteration.
func ColdEntrakit(b *testing.B) {
	srv := NewServer(nil)
	defer srv.Close()
	opts := credential.TokenRequestOptions{Scopes: []string{Scope}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		code := srv.IssueCode(entratest.CodeRequest{ClientID: ClientID, RedirectURI: Redirect})
		b.StartTimer()
		cred, err := credential.NewAuthorizationCode(srv.TenantID(), ClientID, code, Redirect, &credential.AuthorizationCodeOptions{
			ClientSecret: Secret, AuthorityHost: srv.URL(), HTTPClient: srv.Client()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cred.GetToken(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
}

// ColdNetHTTP: the same redemption as a bare net/http POST plus a JSON decode.
func ColdNetHTTP(b *testing.B) {
	srv := NewServer(nil)
	defer srv.Close()
	hc := srv.Client()
	endpoint := srv.TokenURL(srv.TenantID())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		code := srv.IssueCode(entratest.CodeRequest{ClientID: ClientID, RedirectURI: Redirect})
		b.StartTimer()
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {ClientID}, "code": {code},
			"redirect_uri": {Redirect}, "scope": {Scope}, "client_secret": {Secret}}
		resp, err := hc.Post(endpoint, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			b.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
		err = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if err != nil || tok.AccessToken == "" {
			b.Fatalf("%v %d", err, resp.StatusCode)
		}
	}
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

// ensure the HTTP client type satisfies MSAL's interface at compile time.
var _ interface {
	Do(*http.Request) (*http.Response, error)
	CloseIdleConnections()
} = (*http.Client)(nil)
