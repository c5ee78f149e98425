package bench

import (
	"fmt"
	"os"
	"testing"
)

// skipBig leaves out, with -short (as CI runs each benchmark once), the set-ups that take
// thousands of token requests; cmd/report runs them all.
func skipBig(b *testing.B, n int) {
	if testing.Short() && n > 100 {
		b.Skip("-short: the set-up takes thousands of token requests")
	}
}

func TestMain(m *testing.M) {
	ServeRemoteIfAsked()
	os.Exit(m.Run())
}

// go test -bench CachedGetToken: each library's cached token, one scope set.
func BenchmarkCachedGetToken(b *testing.B) {
	for _, lib := range Libraries {
		b.Run(lib, Cached(lib, 1, 1))
	}
}

// go test -bench OneOfMany: each library asked for one scope set among n cached.
func BenchmarkOneOfMany(b *testing.B) {
	for _, n := range []int{1, 10, 1000, 10_000} {
		for _, lib := range Libraries {
			if n <= MaxSetsFor(lib) {
				b.Run(fmt.Sprintf("cached=%d/%s", n, lib), func(b *testing.B) { skipBig(b, n); Cached(lib, n, 1)(b) })
			}
		}
	}
}

// go test -bench RoundRobin: each library cycling through n cached scope sets.
func BenchmarkRoundRobin(b *testing.B) {
	for _, n := range []int{1, 2, 10, 1000, 10_000} {
		for _, lib := range Libraries {
			if n <= MaxSetsFor(lib) {
				b.Run(fmt.Sprintf("sets=%d/%s", n, lib), func(b *testing.B) { skipBig(b, n); Cached(lib, n, n)(b) })
			}
		}
	}
}

// go test -bench Parallel -cpu 1,2: the cached token from every CPU at once.
func BenchmarkParallel(b *testing.B) {
	for _, lib := range Libraries {
		b.Run(lib, CachedParallel(lib))
	}
}

func BenchmarkRefresh(b *testing.B) {
	b.Run("entrakit", RefreshEntrakit)
	b.Run("net-http", RefreshNetHTTP)
}

func BenchmarkCodeRedemption(b *testing.B) {
	b.Run("entrakit", RedeemEntrakit)
	b.Run("x-oauth2", RedeemOAuth2)
	b.Run("msal-go", RedeemMSAL)
	b.Run("net-http", RedeemNetHTTP)
}

func BenchmarkPersistentRefresh(b *testing.B) {
	for _, n := range []int{10, 1000, 10_000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) { skipBig(b, n); PersistentRefresh(n)(b) })
	}
}

// TestStampede prints how many token requests 1,000 concurrent callers on a token that needs
// refreshing cause with each library, and holds entrakit to exactly one.
func TestStampede(t *testing.T) {
	got := Stampede(t, 1000)
	t.Logf("token requests from 1,000 concurrent callers: %v", got)
	if got["entrakit"] != 1 {
		t.Errorf("entrakit sent %d requests, want 1", got["entrakit"])
	}
}
