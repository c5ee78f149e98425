package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func key(scopes ...string) Key {
	return Key{Environment: "login.microsoftonline.com", Tenant: "t", ClientID: "c", Account: "u.t", Scopes: scopes}
}

func newCache(t *testing.T, opts *Options) *Cache {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKeyParts(t *testing.T) {
	t.Parallel()
	c := newCache(t, nil)
	c.PutAccessToken(key("a", "b"), AccessToken{Secret: "tok", ExpiresOn: t0.Add(time.Hour)})
	if got, ok := c.AccessToken(key("b", "a"), t0); !ok || got.Secret != "tok" {
		t.Errorf("scope order must not matter: %v %v", got, ok)
	}
	differ := map[string]Key{}
	k := key("a", "b")
	k.Environment = "login.microsoftonline.us"
	differ["environment"] = k
	k = key("a", "b")
	k.Tenant = "other"
	differ["tenant"] = k
	k = key("a", "b")
	k.ClientID = "other"
	differ["client ID"] = k
	k = key("a", "b")
	k.Account = "x.y"
	differ["account"] = k
	k = key("a", "b")
	k.CAE = true
	differ["CAE"] = k
	differ["subset of scopes"] = key("a")
	differ["superset of scopes"] = key("a", "b", "c")
	differ["duplicate scopes"] = key("a", "a")
	for name, k := range differ {
		if _, ok := c.AccessToken(k, t0); ok {
			t.Errorf("a different %s found the token", name)
		}
	}
	if _, ok := c.AccessToken(key("a", "b"), t0.Add(time.Hour)); ok {
		t.Error("an expired token was returned")
	}
}

func TestPutReplacesAndSweepDropsExpired(t *testing.T) {
	t.Parallel()
	c := newCache(t, nil)
	c.PutAccessToken(key("a"), AccessToken{Secret: "old", ExpiresOn: t0.Add(time.Hour)})
	c.PutAccessToken(key("a"), AccessToken{Secret: "new", ExpiresOn: t0.Add(time.Hour)})
	if got, _ := c.AccessToken(key("a"), t0); got.Secret != "new" {
		t.Errorf("got %q, want the replacement", got.Secret)
	}
	c.PutAccessToken(key("b"), AccessToken{Secret: "short", ExpiresOn: t0.Add(time.Minute)})
	if n, _ := c.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	c.Sweep(t0.Add(2 * time.Minute))
	if n, _ := c.Len(); n != 1 {
		t.Errorf("after sweep Len = %d, want 1", n)
	}
}

func TestRefreshTokens(t *testing.T) {
	t.Parallel()
	c := newCache(t, nil)
	c.PutRefreshToken("env", "c", "u.t", "rt1")
	c.PutRefreshToken("env", "c", "u.t", "rt2") // rotation
	if rt, ok := c.RefreshToken("env", "c", "u.t"); !ok || rt != "rt2" {
		t.Errorf("RefreshToken = %q %v", rt, ok)
	}
	if _, ok := c.RefreshToken("env", "c", "other"); ok {
		t.Error("another account's refresh token was returned")
	}
	if c.RemoveRefreshToken("env", "c", "u.t", "rt1") {
		t.Error("removed a token that had been rotated away")
	}
	if !c.RemoveRefreshToken("env", "c", "u.t", "rt2") {
		t.Error("did not remove the current token")
	}
	if _, ok := c.RefreshToken("env", "c", "u.t"); ok {
		t.Error("token still there after removal")
	}
}

type memStore struct {
	mu   sync.Mutex
	data []byte
	err  error
}

func (m *memStore) Load(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data, m.err
}

func (m *memStore) Save(_ context.Context, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data = b
	return nil
}

func TestPersistenceRoundTrip(t *testing.T) {
	t.Parallel()
	st := &memStore{}
	now := func() time.Time { return t0 }
	c := newCache(t, &Options{Store: st, Now: now})
	c.PutAccessToken(key("a"), AccessToken{Secret: "at", TokenType: "Bearer", ExpiresOn: t0.Add(time.Hour), CachedAt: t0})
	c.PutRefreshToken("env", "c", "u.t", "rt")
	c.PutAccount(Account{HomeAccountID: "u.t", Username: "user@x"})
	d := newCache(t, &Options{Store: st, Now: now})
	if got, ok := d.AccessToken(key("a"), t0); !ok || got.Secret != "at" {
		t.Errorf("access token not restored: %v %v", got, ok)
	}
	if rt, _ := d.RefreshToken("env", "c", "u.t"); rt != "rt" {
		t.Errorf("refresh token not restored: %q", rt)
	}
	if a := d.Accounts(); len(a) != 1 || a[0].Username != "user@x" {
		t.Errorf("accounts = %+v", a)
	}
}

func TestUnreadableStoreStartsEmptyAndLogs(t *testing.T) {
	t.Parallel()
	for name, st := range map[string]*memStore{
		"corrupt":         {data: []byte("{not json SECRETCANARY")},
		"foreign version": {data: []byte(`{"version":99,"refresh_tokens":[{"secret":"SECRETCANARY"}]}`)},
		"load error":      {err: errors.New("disk on fire")},
	} {
		t.Run(name, func(t *testing.T) {
			var logs strings.Builder
			c := newCache(t, &Options{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if a, r := c.Len(); a+r != 0 {
				t.Errorf("cache not empty: %d %d", a, r)
			}
			if !strings.Contains(logs.String(), "cache") || strings.Contains(logs.String(), "SECRETCANARY") {
				t.Errorf("log = %q", logs.String())
			}
		})
	}
}

func TestFormatRedacts(t *testing.T) {
	t.Parallel()
	c := newCache(t, nil)
	c.PutAccessToken(key("a"), AccessToken{Secret: "SECRETCANARY", ExpiresOn: t0.Add(time.Hour)})
	c.PutRefreshToken("e", "c", "a", "SECRETCANARY")
	tok, _ := c.AccessToken(key("a"), t0)
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{c, tok, &tok} {
			if s := fmt.Sprintf(f, v); strings.Contains(s, "SECRETCANARY") {
				t.Errorf("%s leaks: %s", f, s)
			}
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	c := newCache(t, nil)
	k := key("https://graph.microsoft.com/.default", "offline_access")
	c.PutAccessToken(k, AccessToken{Secret: "x", ExpiresOn: t0.Add(time.Hour)})
	if n := testing.AllocsPerRun(1000, func() { c.AccessToken(k, t0) }); n != 0 {
		t.Errorf("lookup allocates %v times", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c := newCache(t, &Options{Store: &memStore{}, Now: func() time.Time { return t0 }})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				k := key(fmt.Sprint("g", i), fmt.Sprint("s", j%5))
				c.PutAccessToken(k, AccessToken{Secret: "s", ExpiresOn: t0.Add(time.Hour)})
				c.AccessToken(k, t0)
				c.PutRefreshToken("e", "c", fmt.Sprint(i), "r")
			}
		}()
	}
	wg.Wait()
	if n, _ := c.Len(); n != 40 {
		t.Errorf("Len = %d, want 40", n)
	}
}

func TestExpiredTokensAreDroppedAutomatically(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := newCache(t, &Options{Now: clock})
	for i := range 300 {
		c.PutAccessToken(key(fmt.Sprint("short", i)), AccessToken{Secret: "s", ExpiresOn: t0.Add(time.Minute)})
	}
	mu.Lock()
	now = t0.Add(2 * time.Minute)
	mu.Unlock()
	for i := range 300 {
		c.PutAccessToken(key(fmt.Sprint("long", i)), AccessToken{Secret: "l", ExpiresOn: t0.Add(time.Hour)})
	}
	if n, _ := c.Len(); n != 300 {
		t.Errorf("%d access tokens cached, want the 300 unexpired ones", n)
	}
	data, _ := c.Marshal()
	if strings.Contains(string(data), `"short`) {
		t.Error("an expired token was persisted")
	}
}
