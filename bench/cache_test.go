package bench

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/entrakit/entrakit/cache"
)

func key(i int) cache.Key {
	return cache.Key{
		Environment: "login.microsoftonline.com", Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		ClientID: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", Account: fmt.Sprintf("%08d-0000-0000-0000-000000000000.72f988bf-86f1-41af-91ab-2d7cd011db47", i),
		Scopes: []string{"https://graph.microsoft.com/.default", "offline_access"},
	}
}

func filled(b *testing.B, n int) *cache.Cache {
	c, err := cache.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	for i := range n {
		c.PutAccessToken(key(i), cache.AccessToken{Secret: "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.x.y", TokenType: "Bearer", ExpiresOn: exp})
	}
	return c
}

// BenchmarkCacheLookup compares a lookup in a 1-entry cache with one in a 100,000-entry cache
// (DESIGN section 6: within 1.5x).
func BenchmarkCacheLookup(b *testing.B) {
	for _, n := range []int{1, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			c := filled(b, n)
			k := key(n / 2)
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := c.AccessToken(k, now); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}

// BenchmarkCacheMemoryPerToken reports the heap bytes one cached access token costs.
func BenchmarkCacheMemoryPerToken(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := filled(b, n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/token")
		runtime.KeepAlive(c)
	}
}
