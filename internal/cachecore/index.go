package cachecore

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"
)

// Token is a cached access token. Its times carry no monotonic clock reading: they are
// compared on the wall clock, which keeps running while a machine sleeps.
type Token struct {
	Secret    string `json:"-"`
	TokenType string
	ExpiresOn time.Time
	RefreshOn time.Time // zero: no refresh hint
	CachedAt  time.Time // when the request that fetched it was sent
}

// Format prints the token with its secret redacted.
func (t Token) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "cachecore.Token{Secret:[REDACTED] TokenType:%s ExpiresOn:%s RefreshOn:%s}",
		t.TokenType, t.ExpiresOn.Format(time.RFC3339), t.RefreshOn.Format(time.RFC3339))
}

// LogValue logs the token with its secret redacted.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("secret", "[REDACTED]"), slog.String("token_type", t.TokenType), slog.Time("expires_on", t.ExpiresOn))
}

// Entry is an access token under its key (tenant, scope set, CAE). Published entries never
// change, except for the time of the last refresh attempt, which the refresh throttle reads.
//
// The fields a lookup reads come first, so that it touches as few cache lines as it can.
type Entry struct {
	hash uint64
	// Token's times in Unix nanoseconds (0 for a zero time), so that the hot path compares
	// integers on the wall clock.
	ExpiresNs, RefreshNs, CachedNs int64
	CAE                            bool
	Tenant                         string
	Scopes                         []string  // sorted
	one                            [1]string // Scopes' storage when there is one scope

	Token   Token
	attempt atomic.Int64 // unix nanoseconds of the last failed refresh attempt; 0 for none
}

func newEntry(seed maphash.Seed, tenant string, sortedScopes []string, cae bool, tok Token) *Entry {
	e := &Entry{Tenant: tenant, Scopes: sortedScopes, CAE: cae, Token: tok,
		ExpiresNs: unixNano(tok.ExpiresOn), RefreshNs: unixNano(tok.RefreshOn), CachedNs: unixNano(tok.CachedAt),
		hash: hashKey(seed, TenantHash(seed, tenant), sortedScopes, cae)}
	if len(sortedScopes) == 1 {
		e.one[0] = sortedScopes[0]
		e.Scopes = e.one[:]
	}
	return e
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// AttemptNs returns the Unix nanoseconds of the last failed refresh attempt (0: never).
func (e *Entry) AttemptNs() int64 { return e.attempt.Load() }

// MarkAttempt records a failed refresh attempt at t.
func (e *Entry) MarkAttempt(t time.Time) { e.attempt.Store(t.UnixNano()) }

// TenantHash is the tenant's part of a key's hash; callers that look up one tenant again and
// again compute it once (see Partition.LookupHashed).
func TenantHash(seed maphash.Seed, tenant string) uint64 { return maphash.String(seed, tenant) }

// hashKey is order-insensitive in the scopes: the sum of each scope's hash, mixed with the
// tenant's and the CAE flag. It does not allocate.
func hashKey(seed maphash.Seed, tenantHash uint64, scopes []string, cae bool) uint64 {
	var sum uint64
	for _, s := range scopes {
		sum += maphash.String(seed, s)
	}
	h := sum*0x9e3779b97f4a7c15 ^ tenantHash
	if cae {
		h = ^h
	}
	return h
}

// sameSet reports whether sorted (sorted) and req hold the same set of scopes, without
// allocating. Both directions are checked so that duplicates cannot fake a match. The usual
// case, the same scopes in the same order, is checked first.
func sameSet(sorted, req []string) bool {
	if len(sorted) != len(req) {
		return false
	}
	if slices.Equal(sorted, req) {
		return true
	}
	for _, s := range req {
		if _, ok := slices.BinarySearch(sorted, s); !ok {
			return false
		}
	}
	for _, s := range sorted {
		if !slices.Contains(req, s) {
			return false
		}
	}
	return true
}

// table is a hash table that readers use without locks: each bucket is an immutable chain of
// nodes replaced whole by writers (who hold the partition's mutex), and a table that grows is
// replaced whole too. A reader holding an older table sees an older, consistent state.
type table struct {
	mask    uint64
	buckets []atomic.Pointer[node]
	count   int // entries, including expired ones not yet swept; written under the partition's mutex
}

type node struct {
	e    *Entry
	next *node
}

func newTable(size int) *table {
	n := 8
	for n < size {
		n *= 2
	}
	return &table{mask: uint64(n - 1), buckets: make([]atomic.Pointer[node], n)}
}

func (t *table) lookup(h uint64, tenant string, scopes []string, cae bool) *Entry {
	for n := t.buckets[h&t.mask].Load(); n != nil; n = n.next {
		if e := n.e; e.hash == h && e.CAE == cae && e.Tenant == tenant && sameSet(e.Scopes, scopes) {
			return e
		}
	}
	return nil
}

func sameKey(a, b *Entry) bool {
	return a.hash == b.hash && a.CAE == b.CAE && a.Tenant == b.Tenant && sameSet(a.Scopes, b.Scopes)
}

// put publishes e, replacing the entry of the same key. It reports whether it added one.
func (t *table) put(e *Entry) bool {
	slot := &t.buckets[e.hash&t.mask]
	head := &node{e: e}
	replaced := false
	// The new chain: e, then the old chain without the entry e replaces (nodes are never
	// changed once published, so the part before it is copied).
	tail := &head.next
	for n := slot.Load(); n != nil; n = n.next {
		if !replaced && sameKey(n.e, e) {
			replaced = true
			*tail = n.next
			break
		}
		c := &node{e: n.e}
		*tail = c
		tail = &c.next
	}
	slot.Store(head)
	if !replaced {
		t.count++
	}
	return !replaced
}

// all returns every entry.
func (t *table) all() []*Entry {
	out := make([]*Entry, 0, t.count)
	for i := range t.buckets {
		for n := t.buckets[i].Load(); n != nil; n = n.next {
			out = append(out, n.e)
		}
	}
	return out
}

// rebuilt returns a new table holding the entries of t that keep(e) accepts, sized for them.
func (t *table) rebuilt(keep func(*Entry) bool) *table {
	live := slices.DeleteFunc(t.all(), func(e *Entry) bool { return !keep(e) })
	n := newTable(len(live))
	for _, e := range live {
		n.put(e)
	}
	return n
}
