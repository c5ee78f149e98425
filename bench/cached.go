package bench

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/oauth2"

	"github.com/entrakit/entrakit/credential"
)

// A cached benchmark is a function asking each library for the token of scope set i, cached
// beforehand: the same loop runs it for one scope set, round robin over n, and in parallel.
type cachedGet func(i int) error

// Libraries whose cached tokens are measured, in report order.
var Libraries = []string{"entrakit", "x/oauth2", "azidentity", "MSAL Go"}

// MaxSetsFor is the most scope sets a library is set up with: filling MSAL Go's and
// azidentity's caches takes one request per scope set, and their lookups scan every token, so
// 10,000 would take minutes of set-up for a foregone result.
func MaxSetsFor(lib string) int {
	switch lib {
	case "azidentity", "MSAL Go":
		return 1000
	}
	return 10_000
}

// setUp returns lib's cached lookup with n scope sets cached, against r (nil for x/oauth2, which
// needs no server), and a function counting the token requests made since setup.
func setUp(tb TB, lib string, r *Remote, n int) (cachedGet, func() int) {
	tb.Helper()
	ctx := context.Background()
	switch lib {
	case "entrakit":
		cred := entrakitFor(tb, r.fake(tb), nil, nil, n)
		opts := make([]credential.TokenRequestOptions, n)
		for i := range opts {
			opts[i] = credential.TokenRequestOptions{Scopes: ScopeSet(i)}
		}
		r.TokenRequests(tb)
		return func(i int) error { _, err := cred.GetToken(ctx, opts[i]); return err }, func() int { return r.TokenRequests(tb) }
	case "x/oauth2": // no Entra logic at all: a mutex and a clock read, the floor
		sources := make([]oauth2.TokenSource, n)
		for i := range sources {
			sources[i] = oauth2.ReuseTokenSource(&oauth2.Token{AccessToken: "x", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil)
		}
		return func(i int) error { _, err := sources[i].Token(); return err }, func() int { return 0 }
	case "azidentity":
		cred := azidentityFor(tb, r.fake(tb), n)
		opts := make([]policy.TokenRequestOptions, n)
		for i := range opts {
			opts[i] = policy.TokenRequestOptions{Scopes: ScopeSet(i)}
		}
		r.TokenRequests(tb)
		return func(i int) error { _, err := cred.GetToken(ctx, opts[i]); return err }, func() int { return r.TokenRequests(tb) }
	case "MSAL Go":
		app, account := msalFor(tb, r.fake(tb), n)
		scopes := make([][]string, n)
		for i := range scopes {
			scopes[i] = ScopeSet(i)
		}
		r.TokenRequests(tb)
		return func(i int) error {
			_, err := app.AcquireTokenSilent(ctx, scopes[i], confidential.WithSilentAccount(account))
			return err
		}, func() int { return r.TokenRequests(tb) }
	}
	tb.Fatal("unknown library ", lib)
	return nil, nil
}

// Cached measures lib's cached token with n scope sets cached, cycling round robin through the
// first cycle of them (cycle 1: the same scope set every time, looked up among n). It fails if
// the loop made a token request: it measures the cache, nothing else.
func Cached(lib string, n, cycle int) func(*testing.B) {
	return func(b *testing.B) {
		r := StartRemote(b)
		defer r.Close()
		get, requests := setUp(b, lib, r, n)
		n := min(cycle, n)
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			if err := get(i); err != nil {
				b.Fatal(err)
			}
			if i++; i == n {
				i = 0
			}
		}
		b.StopTimer()
		if got := requests(); got != 0 {
			b.Fatalf("%s made %d token requests in a cached benchmark", lib, got)
		}
	}
}

// CachedParallel measures lib's cached token from GOMAXPROCS goroutines at once (b.RunParallel:
// with -cpu 1,2 its ns/op shows how the hot path scales).
func CachedParallel(lib string) func(*testing.B) {
	return func(b *testing.B) {
		r := StartRemote(b)
		defer r.Close()
		get, requests := setUp(b, lib, r, 1)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := get(0); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		if got := requests(); got != 0 {
			b.Fatalf("%s made %d token requests in a cached benchmark", lib, got)
		}
	}
}
