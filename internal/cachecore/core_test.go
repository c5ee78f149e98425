package cachecore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrakit/entrakit/oauth"
)

var (
	t0  = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	pid = PartitionID{Environment: "login.microsoftonline.com", ClientID: "client", HomeAccountID: "uid.utid"}
)

const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

func clockAt(t time.Time) func() time.Time { return func() time.Time { return t } }

func tok(secret string, life time.Duration) Token {
	return Token{Secret: secret, TokenType: "Bearer", ExpiresOn: t0.Add(life), CachedAt: t0}
}

// put writes one token in a transaction.
func put(t *testing.T, p *Partition, scopes []string, cae bool, tk Token) {
	t.Helper()
	if err := p.Update(context.Background(), func(tx *Tx) error {
		tx.Put(tenant, scopes, cae, tk)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestTheKeyIsTenantScopeSetAndCAE(t *testing.T) {
	t.Parallel()
	p := New(Options{Now: clockAt(t0)}).Partition(pid)
	put(t, p, []string{"a", "b"}, false, tok("plain", time.Hour))
	put(t, p, []string{"a", "b"}, true, tok("cae", time.Hour))
	cases := []struct {
		name   string
		tenant string
		scopes []string
		cae    bool
		want   string // "" for a miss
	}{
		{"the same scopes", tenant, []string{"a", "b"}, false, "plain"},
		{"the same set in another order", tenant, []string{"b", "a"}, false, "plain"},
		{"CAE tokens are kept apart", tenant, []string{"a", "b"}, true, "cae"},
		{"a subset misses", tenant, []string{"a"}, false, ""},
		{"a duplicate cannot fake a set", tenant, []string{"a", "a"}, false, ""},
		{"another tenant misses", "contoso.example", []string{"a", "b"}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if e := p.Lookup(tc.tenant, tc.scopes, tc.cae); e != nil {
				got = e.Token.Secret
			}
			if got != tc.want {
				t.Errorf("Lookup = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	p := New(Options{Now: clockAt(t0)}).Partition(pid)
	for i := range 100 {
		put(t, p, []string{fmt.Sprint("scope-", i)}, false, tok("x", time.Hour))
	}
	scopes := []string{"scope-42"}
	if n := testing.AllocsPerRun(1000, func() { p.Lookup(tenant, scopes, false) }); n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
}

func TestTheIndexHoldsManyScopeSetsAndSweepsExpiredOnes(t *testing.T) {
	t.Parallel()
	now := t0
	p := New(Options{Now: func() time.Time { return now }}).Partition(pid)
	const n = 10_000
	for i := range n {
		put(t, p, []string{fmt.Sprint("https://app-", i, "/.default")}, false, tok(fmt.Sprint("t", i), time.Hour))
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		if e := p.Lookup(tenant, []string{fmt.Sprint("https://app-", i, "/.default")}, false); e == nil || e.Token.Secret != fmt.Sprint("t", i) {
			t.Fatalf("scope set %d: %v", i, e)
		}
	}
	// Two hours later every token has expired: writes of new keys sweep them, so the index
	// stays bounded by the live tokens, whatever keys callers sent.
	now = t0.Add(2 * time.Hour)
	for i := range 200 {
		put(t, p, []string{fmt.Sprint("new-", i)}, false, Token{Secret: "n", ExpiresOn: now.Add(time.Hour), CachedAt: now})
	}
	if at, _ := p.counts(); at > 400 {
		t.Errorf("%d entries after the sweep, want at most 400 (200 live)", at)
	}
}

func TestUpdateSavesBeforeItReturnsAndReloadsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	a := New(Options{Store: st, Now: clockAt(t0)}).Partition(pid) // process A
	b := New(Options{Store: st, Now: clockAt(t0)}).Partition(pid) // process B, same store
	if err := a.Update(context.Background(), func(tx *Tx) error {
		tx.SetRefreshToken("rt-1")
		tx.Put(tenant, []string{"s"}, false, tok("at-1", time.Hour))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if st.saves.Load() != 1 {
		t.Fatalf("%d saves when Update returned, want 1", st.saves.Load())
	}
	var rt string
	read := func(p *Partition) {
		if err := p.Update(context.Background(), func(tx *Tx) error { rt = tx.RefreshToken(); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	read(b)
	if rt != "rt-1" || b.Lookup(tenant, []string{"s"}, false) == nil {
		t.Fatalf("B read %q and no access token; want what A saved", rt)
	}
	reads := st.reads.Load()
	read(b) // unchanged: the version matches, nothing is read or decoded again
	read(a) // A wrote it last: its copy is current too
	if st.reads.Load() != reads {
		t.Errorf("%d blobs read for partitions that had not changed", st.reads.Load()-reads)
	}
	if st.saves.Load() != 1 {
		t.Errorf("a transaction that changed nothing saved (%d saves)", st.saves.Load())
	}
	// B rotates; A's next transaction sees the rotated token.
	if err := b.Update(context.Background(), func(tx *Tx) error { tx.SetRefreshToken("rt-2"); return nil }); err != nil {
		t.Fatal(err)
	}
	read(a)
	if rt != "rt-2" {
		t.Errorf("A read %q after B's rotation, want rt-2", rt)
	}
}

// A write outside the transaction under way in another goroutine is saved before it returns.
func TestAWriteIsSavedBeforeItReturnsWhileAnotherTransactionRuns(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	c := New(Options{Store: st, Now: clockAt(t0)})
	p, q := c.Partition(pid), c.Partition(PartitionID{Environment: pid.Environment, ClientID: pid.ClientID, HomeAccountID: "other.utid"})
	inside, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = p.Update(context.Background(), func(tx *Tx) error {
			close(inside)
			<-release
			tx.SetRefreshToken("slow")
			return nil
		})
	}()
	<-inside
	for _, part := range []*Partition{q, p} { // another partition, and the same one
		done := make(chan struct{})
		go func() {
			defer wg.Done()
			defer close(done)
			_ = part.Update(context.Background(), func(tx *Tx) error { tx.SetRefreshToken("quick"); return nil })
			if data, _, _ := st.Load(context.Background(), part.key, ""); !strings.Contains(string(data), `"quick"`) {
				t.Errorf("Update returned before its write was saved")
			}
		}()
		if part == q {
			<-done // a different partition does not wait for p's transaction
			wg.Add(1)
		}
	}
	close(release)
	wg.Wait()
}

func TestALockThatCannotBeHadIsAnErrorAndNothingRuns(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	p := New(Options{Store: st, Now: clockAt(t0)}).Partition(pid)
	unlock, _ := st.Lock(context.Background(), p.key) // another process holds it
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	ran := false
	err := p.Update(ctx, func(*Tx) error { ran = true; return nil })
	if !errors.Is(err, ErrLock) || !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Fatalf("Update = %v, ran = %v; want ErrLock and no work", err, ran)
	}
}

func TestStoredPartitionsAreValidated(t *testing.T) {
	t.Parallel()
	good := blobToken{Tenant: tenant, Scopes: []string{"s"}, Secret: "eyJ.x.y", TokenType: "Bearer", ExpiresOn: t0.Add(time.Hour), CachedAt: t0}
	with := func(f func(*blobToken)) blobToken { b := good; f(&b); return b }
	cases := []struct {
		name         string
		tok          blobToken
		kept, reject bool
	}{
		{"a good token is kept", good, true, false},
		{"an expired token is dropped quietly", with(func(b *blobToken) { b.ExpiresOn = t0.Add(-time.Second) }), false, false},
		{"a lifetime past oauth.MaxLifetime", with(func(b *blobToken) { b.ExpiresOn = t0.Add(oauth.MaxLifetime + time.Hour) }), false, true},
		{"fetched in the future", with(func(b *blobToken) { b.CachedAt = t0.Add(time.Hour) }), false, true},
		{"no fetch time", with(func(b *blobToken) { b.CachedAt = time.Time{} }), false, true},
		{"a refresh time after expiry", with(func(b *blobToken) { b.RefreshOn = t0.Add(2 * time.Hour) }), false, true},
		{"a secret that would break a header", with(func(b *blobToken) { b.Secret = "a\r\nX-Evil: 1" }), false, true},
		{"a malformed tenant", with(func(b *blobToken) { b.Tenant = "../x" }), false, true},
		{"no scopes", with(func(b *blobToken) { b.Scopes = nil }), false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &blob{Version: FormatVersion, Environment: pid.Environment, ClientID: pid.ClientID, HomeAccountID: pid.HomeAccountID,
				AccessTokens: []blobToken{tc.tok}}
			got, err := decode(b.encode(), pid, t0)
			if err != nil {
				t.Fatal(err)
			}
			if kept := len(got.AccessTokens) == 1; kept != tc.kept || (got.rejected == 1) != tc.reject {
				t.Errorf("kept %v, rejected %d; want kept %v, rejected %v", kept, got.rejected, tc.kept, tc.reject)
			}
		})
	}
	other := &blob{Version: FormatVersion, Environment: pid.Environment, ClientID: pid.ClientID, HomeAccountID: "mallory.utid", RefreshToken: "rt"}
	if _, err := decode(other.encode(), pid, t0); !errors.Is(err, ErrUnreadable) {
		t.Errorf("another partition's blob: err = %v, want ErrUnreadable", err)
	}
	if _, err := decode([]byte(`{"version":1}`), pid, t0); !errors.Is(err, ErrUnreadable) {
		t.Errorf("another format version: err = %v", err)
	}
}

func TestAPlantedBlobIsIgnoredAndReplaced(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	p := New(Options{Store: st, Now: clockAt(t0)}).Partition(pid)
	planted := &blob{Version: FormatVersion, Environment: pid.Environment, ClientID: pid.ClientID, HomeAccountID: "mallory.utid",
		RefreshToken: "mallorys", AccessTokens: []blobToken{{Tenant: tenant, Scopes: []string{"s"}, Secret: "mallory", TokenType: "Bearer", ExpiresOn: t0.Add(time.Hour), CachedAt: t0}}}
	_, _ = st.Save(context.Background(), p.key, planted.encode(), "")
	var rt string
	_ = p.Update(context.Background(), func(tx *Tx) error { rt = tx.RefreshToken(); tx.SetRefreshToken("mine"); return nil })
	if rt != "" || p.Lookup(tenant, []string{"s"}, false) != nil {
		t.Fatalf("the planted partition was used: refresh token %q", rt)
	}
	if data, _, _ := st.Load(context.Background(), p.key, ""); strings.Contains(string(data), "mallory") {
		t.Error("the planted blob survived a good save")
	}
}

func TestRemoveAccountForgetsEveryPartitionInMemoryAndInTheStore(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	a, b := New(Options{Store: st, Now: clockAt(t0)}), New(Options{Store: st, Now: clockAt(t0)})
	other := PartitionID{Environment: "login.microsoftonline.us", ClientID: "client", HomeAccountID: pid.HomeAccountID}
	keep := PartitionID{Environment: pid.Environment, ClientID: "client", HomeAccountID: "someone.else"}
	for _, id := range []PartitionID{pid, other, keep} {
		_ = a.Partition(id).Update(context.Background(), func(tx *Tx) error {
			tx.SetAccount(Account{HomeAccountID: id.HomeAccountID, Environment: id.Environment, TenantID: tenant})
			tx.SetRefreshToken("rt")
			tx.Put(tenant, []string{"s"}, false, tok("at", time.Hour))
			return nil
		})
	}
	if got := b.Accounts(context.Background()); len(got) != 3 {
		t.Fatalf("B lists %d accounts, want 3 (two clouds, one home account ID, kept apart): %v", len(got), got)
	}
	held := a.Partition(pid)
	if err := b.RemoveAccount(context.Background(), pid.HomeAccountID); err != nil {
		t.Fatal(err)
	}
	if keys, _ := st.List(context.Background()); len(keys) != 1 || keys[0] != Key(keep) {
		t.Errorf("stored partitions after RemoveAccount: %v, want only %s", keys, Key(keep))
	}
	// A still holds the partition in memory: its next transaction sees that it is gone, and
	// never writes it back.
	var rt string
	_ = held.Update(context.Background(), func(tx *Tx) error { rt = tx.RefreshToken(); return nil })
	if rt != "" || held.Lookup(tenant, []string{"s"}, false) != nil {
		t.Errorf("a removed account's tokens survived in another process's memory")
	}
	if got := a.Accounts(context.Background()); len(got) != 1 || got[0].HomeAccountID != "someone.else" {
		t.Errorf("accounts after sign-out: %v", got)
	}
}

func TestAVersionOneFileBecomesPartitions(t *testing.T) {
	t.Parallel()
	exp := t0.Add(time.Hour).Format(time.RFC3339)
	v1 := `{"version":1,"access_tokens":[{"environment":"login.microsoftonline.com","tenant":"` + tenant + `","client_id":"client","account":"uid.utid",` +
		`"scopes":["s"],"secret":"at","token_type":"Bearer","expires_on":"` + exp + `","cached_at":"` + t0.Format(time.RFC3339) + `"}],` +
		`"refresh_tokens":[{"environment":"login.microsoftonline.com","client_id":"client","account":"uid.utid","secret":"rt"},` +
		`{"environment":"login.microsoftonline.com","client_id":"client","account":"gone.utid"}],` +
		`"accounts":[{"HomeAccountID":"uid.utid","Environment":"login.microsoftonline.com","TenantID":"` + tenant + `","Username":"alice@contoso.example"}]}`
	parts, err := FromV1([]byte(v1), t0)
	if err != nil || len(parts) != 1 {
		t.Fatalf("FromV1 = %d partitions, %v; want 1", len(parts), err)
	}
	b, err := decode(parts[Key(pid)], pid, t0)
	if err != nil || b.RefreshToken != "rt" || len(b.AccessTokens) != 1 || b.Username != "alice@contoso.example" {
		t.Fatalf("migrated partition = %+v, %v", b, err)
	}
}

// Sync makes memory reflect what another process did to the store, without its lock, and
// Current says when memory may answer alone: without a store always, with one for Recheck after
// a Sync.
func TestSyncSeesOtherProcessesWithinTheRecheck(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	here := New(Options{Store: st, Now: clockAt(t0), Recheck: time.Minute})
	there := New(Options{Store: st, Now: clockAt(t0)})
	put := func(c *Core, secret string) {
		_ = c.Partition(pid).Update(context.Background(), func(tx *Tx) error {
			tx.SetRefreshToken("rt")
			tx.Put(tenant, []string{"s"}, false, tok(secret, time.Hour))
			return nil
		})
	}
	put(here, "mine")
	p := here.Partition(pid)
	if p.Current(t0) {
		t.Error("memory never checked against the store counts as current")
	}
	p.Sync(context.Background(), t0)
	if !p.Current(t0.Add(59*time.Second)) || p.Current(t0.Add(time.Minute)) {
		t.Error("Current does not hold for exactly the Recheck after a Sync")
	}
	put(there, "theirs")
	if e := p.Lookup(tenant, []string{"s"}, false); e.Token.Secret != "mine" {
		t.Fatal("memory changed without a Sync")
	}
	p.Sync(context.Background(), t0.Add(time.Minute))
	if e := p.Lookup(tenant, []string{"s"}, false); e == nil || e.Token.Secret != "theirs" {
		t.Fatalf("after a Sync memory holds %v, want the other process's token", e)
	}
	if err := there.RemoveAccount(context.Background(), pid.HomeAccountID); err != nil {
		t.Fatal(err)
	}
	p.Sync(context.Background(), t0.Add(2*time.Minute))
	if e := p.Lookup(tenant, []string{"s"}, false); e != nil {
		t.Error("after a sign-out elsewhere and a Sync, memory still holds the token")
	}
	if New(Options{}).Partition(pid).Current(time.Time{}) != true {
		t.Error("memory without a store is not current")
	}
}

// A Sync while a transaction of this process is under way leaves memory to that transaction
// (which reloads under the lock): a lock-free read can never overwrite what it writes.
func TestSyncLeavesATransactionInProgressAlone(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	c := New(Options{Store: st, Now: clockAt(t0)})
	p := c.Partition(pid)
	_ = p.Update(context.Background(), func(tx *Tx) error {
		before := st.loads.Load()
		p.Sync(context.Background(), t0)
		if st.loads.Load() != before || p.Current(t0) {
			t.Error("a Sync ran inside a transaction")
		}
		return nil
	})
}
