package redisstore

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/redisstore/redistest"
)

// counter counts the commands a Redis client sends (each one round trip: nothing here pipelines).
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// benchCredential signs in through a cache on store and returns the credential and its clock.
func benchCredential(b *testing.B, srv *entratest.Server, store cache.Store) (*credential.AuthorizationCode, *clock, cache.Account) {
	c, _ := cache.New(&cache.Options{Store: store})
	clk := &clock{}
	code := srv.IssueCode(entratest.CodeRequest{ClientID: clientID, RedirectURI: redirect, Scopes: []string{"openid", "offline_access"}})
	cred, err := credential.NewAuthorizationCode(srv.TenantID(), clientID, code, redirect, &credential.AuthorizationCodeOptions{
		AuthorityHost: srv.URL(), HTTPClient: srv.Client(), Cache: c, Now: clk.now})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cred.GetToken(context.Background(), credential.TokenRequestOptions{Scopes: []string{graph}}); err != nil {
		b.Fatal(err)
	}
	return cred, clk, c.Accounts()[0]
}

func countedStore(b *testing.B, rs *redistest.Server) (*Store, *counter) {
	b.Setenv("ENTRAKIT_TEST_FLEET_KEY", testKeyB64)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	b.Cleanup(func() { rdb.Close() })
	cnt := &counter{}
	rdb.AddHook(cnt)
	st, err := New(rdb, &Options{Keys: []cache.KeySource{cache.KeyFromEnv("ENTRAKIT_TEST_FLEET_KEY")}})
	if err != nil {
		b.Fatal(err)
	}
	return st, cnt
}

// A cached GetToken is served from the credential's memory: Redis is read only to check for
// what other instances did (a sign-out), once per account per cache Recheck (30 s), never per
// call. The benchmark counts every command the loop sends.
func BenchmarkCachedGetTokenIsServedFromMemory(b *testing.B) {
	rs := redistest.Start(b)
	srv := entratest.NewServer(nil)
	defer srv.Close()
	st, cnt := countedStore(b, rs)
	cred, _, _ := benchCredential(b, srv, st)
	opts := credential.TokenRequestOptions{Scopes: []string{graph}}
	if _, err := cred.GetToken(context.Background(), opts); err != nil { // the first check after the sign-in
		b.Fatal(err)
	}
	before, start := cnt.n.Load(), time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cred.GetToken(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
	sent := cnt.n.Load() - before
	b.ReportMetric(float64(sent)/float64(b.N), "redis-commands/op")
	if checks := int64(time.Since(start) / cache.DefaultRecheck); sent > checks {
		b.Fatalf("%d Redis commands for cached tokens in %s; at most one check per %s", sent, time.Since(start), cache.DefaultRecheck)
	}
}

// A refresh through Redis and through a FileStore, side by side; through Redis, with 10,000
// other accounts stored too. redis-round-trips/op counts what a refresh sends to Redis.
func BenchmarkRefresh(b *testing.B) {
	refreshes := func(b *testing.B, store cache.Store, cnt *counter, srv *entratest.Server) {
		cred, clk, _ := benchCredential(b, srv, store)
		opts := credential.TokenRequestOptions{Scopes: []string{graph}}
		var before int64
		if cnt != nil {
			before = cnt.n.Load()
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			clk.offset.Add(int64(2 * time.Hour))
			if _, err := cred.GetToken(context.Background(), opts); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if cnt != nil {
			b.ReportMetric(float64(cnt.n.Load()-before)/float64(b.N), "redis-round-trips/op")
		}
	}
	b.Run("store=file", func(b *testing.B) {
		srv := entratest.NewServer(nil)
		defer srv.Close()
		fs, err := cache.NewFileStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		refreshes(b, fs, nil, srv)
	})
	for _, others := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("store=redis/other-accounts=%d", others), func(b *testing.B) {
			if testing.Short() && others > 0 {
				b.Skip("-short: the set-up writes 10,000 partitions")
			}
			rs := redistest.Start(b)
			srv := entratest.NewServer(nil)
			defer srv.Close()
			st, cnt := countedStore(b, rs)
			fillRedis(b, rs, others)
			refreshes(b, st, cnt, srv)
		})
	}
}

// fillRedis stores n partitions of other accounts (opaque blobs of a realistic size).
func fillRedis(b *testing.B, rs *redistest.Server, n int) {
	if n == 0 {
		return
	}
	rdb := rs.Client(b)
	pipe := rdb.Pipeline()
	blob := make([]byte, 3000)
	for i := range n {
		key := "entrakit:{" + cache.PartitionKey("login.microsoftonline.com", clientID, fmt.Sprintf("%08d.tenant", i)) + "}"
		pipe.HSet(context.Background(), key, "v", "v1", "d", blob)
	}
	if _, err := pipe.Exec(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got := rdb.DBSize(context.Background()).Val(); got < int64(n) {
		b.Fatalf("%d keys in Redis, want %d", got, n)
	}
}

var _ = net.Dial
