// Package cachecore is the engine room of package cache: accounts' partitions of tokens, the
// lock-free index the hot path reads, and transactions against a partitioned store. Package
// cache is its public face (New, Options, Store, FileStore, Accounts, RemoveAccount); package
// credential drives it. Nothing here is for users: that is why it is internal.
//
// A partition is one account's tokens for one authority host and client ID: its refresh token,
// its access tokens and its account record (docs/PROTOCOL.md#the-token-cache-and-the-refresh-decision).
// Reads never lock. Writes happen only inside a transaction on one partition, which, with a
// store, holds the partition's cross-process lock, reloads the partition when the store holds a
// newer version, and saves before it returns.
//
// # Security considerations
//
// Partitions hold secrets. Nothing here logs or prints a token; blobs loaded from a store are
// validated (their partition, times, lifetimes, token syntax) before anything in them is used.
// A lock that cannot be had is an error, never lock-free work.
package cachecore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Store is where a Cache persists its partitions, each an opaque blob under an opaque key (the
// keys are safe as file names and Redis keys). Package cache re-exports it as cache.Store, the
// seam users implement; FileStore is one. Implementations must be safe for concurrent use.
//
// The Cache calls Save and Delete for a key only while it holds that key's lock; it also calls
// Load without the lock, to see what other processes did (a Save must be atomic anyway). It
// holds a lock only while it decides, sends one token request and saves (never while it waits
// to retry), so a lock is held for about one HTTP round trip.
type Store interface {
	// Lock takes the exclusive lock of a partition, shared by every process (and machine, for
	// a shared store) using the store, waiting at most until ctx ends, and returns its
	// release. A lock that cannot be had must be an error: the Cache then reports the failure
	// (or serves a still-valid cached token) and never works without the lock.
	Lock(ctx context.Context, key string) (unlock func(), err error)

	// Load returns a partition's blob and version (an opaque string that changes whenever the
	// blob does), or a nil blob and "" when there is none (a store that remembers removals may
	// return a nil blob and the removal's version instead, so that a save based on the version
	// from before the removal fails). When since is not "" and the stored
	// version is still since, Load may return (nil, since, nil) without reading the blob: the
	// Cache's copy is current. A blob that cannot be used should be an error wrapping
	// ErrUnreadable (the Cache logs it and treats the partition as empty until it saves).
	Load(ctx context.Context, key, since string) (data []byte, version string, err error)

	// Save replaces a partition's blob, atomically (a crash leaves the old blob or the new
	// one), and returns the new version. prev is the version the Cache loaded ("" for none):
	// a store that can tell another writer saved since (a lock that expired) must refuse with
	// an error wrapping ErrConflict rather than overwrite a newer rotation.
	Save(ctx context.Context, key string, data []byte, prev string) (version string, err error)

	// Delete removes a partition; removing one that is not there is not an error.
	Delete(ctx context.Context, key string) error

	// List returns the keys of the stored partitions.
	List(ctx context.Context) ([]string, error)
}

// Errors shared with package cache (which re-exports them).
var (
	// ErrUnreadable: a stored blob cannot be used (malformed, foreign version, another partition's).
	ErrUnreadable = errors.New("cache: the stored partition is unreadable")
	// ErrConflict: a save found a version other than the one it was based on (another writer
	// saved in between, which a held lock should have made impossible: a lease that ran out).
	ErrConflict = errors.New("cache: the stored partition changed under the lock")
	// ErrLock: the partition's lock could not be taken before the caller's context ended.
	ErrLock = errors.New("cache: could not lock the account's stored tokens")
	// ErrUnavailable: a shared store cannot be reached (down, or too slow). A Store that wraps
	// it asks the cache to fail open: to work from memory, without the store's lock, until the
	// store is back.
	ErrUnavailable = errors.New("cache: the token store is unavailable")
)

// DefaultRecheck is how long a process serves a store-backed partition's tokens from memory
// before it looks at the store again (Options.Recheck).
const DefaultRecheck = 30 * time.Second

// DefaultLockWait bounds how long a transaction waits for a partition's lock when the caller's
// context has no deadline.
const DefaultLockWait = 30 * time.Second

// Account is a signed-in account, for display (no secrets).
type Account struct {
	HomeAccountID string // "uid.utid", or the id_token sub
	Environment   string // authority host
	TenantID      string // the tenant the account signed in to
	Username      string // preferred_username, when an id_token named it
}

// PartitionID names a partition: one account of one client at one authority host.
type PartitionID struct {
	Environment, ClientID, HomeAccountID string
}

// Options configure a Core.
type Options struct {
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
	// OnUnavailable is called (with the store's error, which holds no secret) each time a
	// transaction works from memory because the store is unavailable.
	OnUnavailable func(error)
	// Recheck is how long tokens of a store-backed partition are served from memory before
	// the store is read again (without its lock) for what other processes did: a sign-out, a
	// newer token. 0 means DefaultRecheck.
	Recheck time.Duration
}

// Core holds the partitions; it is safe for concurrent use.
type Core struct {
	store         Store
	logger        *slog.Logger
	now           func() time.Time
	onUnavailable func(error)
	seed          maphash.Seed
	recheckNs     int64

	mu    sync.Mutex
	parts map[PartitionID]*Partition
}

// New returns an empty Core.
func New(o Options) *Core {
	c := &Core{store: o.Store, logger: o.Logger, now: o.Now, onUnavailable: o.OnUnavailable, seed: maphash.MakeSeed(),
		recheckNs: int64(o.Recheck), parts: map[PartitionID]*Partition{}}
	if c.now == nil {
		c.now = time.Now
	}
	if c.recheckNs <= 0 {
		c.recheckNs = int64(DefaultRecheck)
	}
	return c
}

// TenantHash returns the tenant's part of a key's hash for LookupHashed.
func (c *Core) TenantHash(tenant string) uint64 { return TenantHash(c.seed, tenant) }

// Persistent reports whether the core has a store.
func (c *Core) Persistent() bool { return c.store != nil }

// Partition returns the partition id, made empty in memory if it is not there yet (with a
// store, its content is read by the first transaction).
func (c *Core) Partition(id PartitionID) *Partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.parts[id]
	if p == nil {
		p = newPartition(c, id)
		c.parts[id] = p
	}
	return p
}

// Key is the opaque store key of a partition: a digest of the authority host and client ID, a
// dot, and a digest of the account, so that the key says nothing readable about the account,
// is safe as a file name and a Redis key, and lets RemoveAccount find an account's partitions
// without reading them.
func Key(id PartitionID) string {
	return digest(id.Environment+"\x00"+id.ClientID, 8) + "." + accountDigest(id.HomeAccountID)
}

func accountDigest(homeAccountID string) string { return digest(homeAccountID, 12) }

func digest(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:n])
}

// ValidKey reports whether s has the shape of a Key (stores use it to ignore other files).
func ValidKey(s string) bool {
	if len(s) != 16+1+24 || s[16] != '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; i != 16 && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Accounts returns the accounts with a partition (in the store when there is one, else in
// memory) that records a sign-in, one per authority host and home account ID, sorted. Store
// problems are logged and leave what was found.
func (c *Core) Accounts(ctx context.Context) []Account {
	type ak struct{ env, home string }
	found := map[ak]Account{}
	add := func(a Account) {
		if a.HomeAccountID != "" {
			if old, ok := found[ak{a.Environment, a.HomeAccountID}]; !ok || old.Username == "" {
				found[ak{a.Environment, a.HomeAccountID}] = a
			}
		}
	}
	if c.store == nil {
		for _, p := range c.partitions() {
			if a, ok := p.account(); ok {
				add(a)
			}
		}
	} else { // the store is authoritative: another process may have signed an account out
		keys, err := c.store.List(ctx)
		if err != nil {
			c.warn(ctx, "cache: listing the stored accounts failed", err)
		}
		for _, k := range keys {
			if !ValidKey(k) {
				continue
			}
			data, _, err := c.store.Load(ctx, k, "")
			if err != nil || data == nil {
				continue
			}
			if b, err := decodeAny(data); err == nil && b.TenantID != "" {
				add(b.account())
			}
		}
	}
	out := make([]Account, 0, len(found))
	for _, a := range found {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Account) int {
		return strings.Compare(a.HomeAccountID+"\x00"+a.Environment, b.HomeAccountID+"\x00"+b.Environment)
	})
	return out
}

// RemoveAccount forgets every partition of homeAccountID (sign-out): in memory, and in the
// store under each partition's lock, so that no transaction of another process writes it back.
func (c *Core) RemoveAccount(ctx context.Context, homeAccountID string) error {
	var errs []error
	removed := map[string]bool{}
	for _, p := range c.partitions() {
		if p.id.HomeAccountID == homeAccountID {
			errs = append(errs, p.remove(ctx))
			removed[p.key] = true
		}
	}
	if c.store != nil {
		keys, err := c.store.List(ctx)
		errs = append(errs, err)
		suffix := "." + accountDigest(homeAccountID)
		for _, k := range keys {
			if !removed[k] && strings.HasSuffix(k, suffix) && ValidKey(k) {
				errs = append(errs, c.deleteStored(ctx, k))
			}
		}
	}
	return errors.Join(errs...)
}

// deleteStored deletes a stored partition under its lock.
func (c *Core) deleteStored(ctx context.Context, key string) error {
	unlock, err := c.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	return c.store.Delete(ctx, key)
}

// lock takes a partition's store lock, waiting at most until ctx ends (DefaultLockWait when it
// has no deadline). Failing to lock is an error wrapping ErrLock: never lock-free work.
func (c *Core) lock(ctx context.Context, key string) (func(), error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultLockWait)
		defer cancel()
	}
	unlock, err := c.store.Lock(ctx, key)
	if err != nil {
		return nil, errors.Join(ErrLock, err)
	}
	return unlock, nil
}

// partitions returns the partitions in memory.
func (c *Core) partitions() []*Partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	parts := make([]*Partition, 0, len(c.parts))
	for _, p := range c.parts {
		parts = append(parts, p)
	}
	return parts
}

// forget drops a removed partition from the map (a new one is made on next use).
func (c *Core) forget(p *Partition) {
	c.mu.Lock()
	if c.parts[p.id] == p {
		delete(c.parts, p.id)
	}
	c.mu.Unlock()
}

// Stats counts what memory holds: partitions, access tokens, refresh tokens.
func (c *Core) Stats() (partitions, accessTokens, refreshTokens int) {
	for _, p := range c.partitions() {
		at, rt := p.counts()
		partitions++
		accessTokens += at
		refreshTokens += rt
	}
	return partitions, accessTokens, refreshTokens
}

// unavailable reports a transaction that works from memory because the store cannot be
// reached.
func (c *Core) unavailable(ctx context.Context, err error) {
	c.warn(ctx, "cache: the token store is unavailable; working from memory until it is back", err)
	if c.onUnavailable != nil {
		c.onUnavailable(err)
	}
}

func (c *Core) warn(ctx context.Context, msg string, err error, attrs ...slog.Attr) {
	if c.logger == nil {
		return
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
}

// unwrap returns the Core of a *cache.Cache; package cache sets it (see SetUnwrap).
var unwrap func(any) *Core

// SetUnwrap is called once by package cache so that package credential can reach the core of
// a cache.Cache without the core's methods being part of cache's public API.
func SetUnwrap(f func(any) *Core) { unwrap = f }

// Of returns the Core of a *cache.Cache.
func Of(c any) *Core { return unwrap(c) }
