package cachecore

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Partition is one account's tokens for one authority host and client ID. Lookups never lock;
// every write happens inside a transaction (Update).
type Partition struct {
	core *Core
	id   PartitionID
	key  string

	tab     atomic.Pointer[table] // the access tokens, read without locks
	removed atomic.Bool           // RemoveAccount forgot it: callers look the partition up again
	checked atomic.Int64          // Unix ns (the caller's clock) when Sync last read the store; 0: never

	// gate lets one transaction at a time of this process at a store-backed partition wait for
	// the store's lock, so that goroutines queue here (and a context can end their wait)
	// instead of all polling the store.
	gate chan struct{}

	mu        sync.Mutex // guards the fields below and writes to tab
	acct      Account
	refresh   string    // the account's refresh token; "" for none
	version   string    // the store version memory reflects; "" before the first load
	loaded    bool      // memory reflects the store at version
	dirty     bool      // memory holds changes a failed save did not persist
	nextSweep int       // sweep expired tokens when the table holds this many entries,
	sweepAt   time.Time // or at the first put after this time (the earliest expiry, at most once a minute)
}

func newPartition(c *Core, id PartitionID) *Partition {
	return &Partition{core: c, id: id, key: Key(id), gate: make(chan struct{}, 1), nextSweep: 64}
}

// ID returns the partition's identity.
func (p *Partition) ID() PartitionID { return p.id }

// Removed reports whether RemoveAccount forgot this partition; its holder should ask the Core
// for the partition again.
func (p *Partition) Removed() bool { return p.removed.Load() }

// Lookup returns the access token cached for the key (expired or not), or nil. It neither
// locks nor allocates: it is the hot path.
func (p *Partition) Lookup(tenant string, scopes []string, cae bool) *Entry {
	return p.LookupHashed(TenantHash(p.core.seed, tenant), tenant, scopes, cae)
}

// LookupHashed is Lookup with the tenant's hash computed by the caller (Core.TenantHash).
func (p *Partition) LookupHashed(tenantHash uint64, tenant string, scopes []string, cae bool) *Entry {
	t := p.tab.Load()
	if t == nil {
		return nil
	}
	return t.lookup(hashKey(p.core.seed, tenantHash, scopes, cae), tenant, scopes, cae)
}

// Current reports whether memory may answer for the partition at now: always without a store;
// with one, until Recheck has passed since Sync last read the store. The hot path asks it
// (an atomic load, no lock); when it says no, the caller Syncs before it serves.
func (p *Partition) Current(now time.Time) bool {
	return p.core.store == nil || now.UnixNano()-p.checked.Load() < p.core.recheckNs
}

// Sync reads the store, without its lock, and makes memory reflect what other processes did
// (another refresh, a sign-out that removed the partition), so that memory never serves tokens
// the store no longer holds for longer than Recheck. It notes now as the time of the check, even
// when the store cannot be read (memory then serves until the next check: fail open). A
// transaction of this process under way reloads anyway: Sync then does nothing.
func (p *Partition) Sync(ctx context.Context, now time.Time) {
	c := p.core
	if c.store == nil {
		return
	}
	select {
	case p.gate <- struct{}{}:
		defer func() { <-p.gate }()
	default:
		return
	}
	if err := p.reload(ctx); errors.Is(err, ErrUnavailable) {
		c.unavailable(ctx, err)
	} else if err != nil {
		c.warn(ctx, "cache: reading the account's stored tokens failed; serving them from memory", err)
	}
	p.checked.Store(now.UnixNano())
}

// Account returns the partition's account record, as memory knows it.
func (p *Partition) Account() (Account, bool) { return p.account() }

func (p *Partition) account() (Account, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acct, p.acct.HomeAccountID != ""
}

func (p *Partition) counts() (accessTokens, refreshTokens int) {
	p.mu.Lock() // writers change the table's count under it
	defer p.mu.Unlock()
	if t := p.tab.Load(); t != nil {
		accessTokens = len(t.all())
	}
	if p.refresh != "" {
		refreshTokens = 1
	}
	return accessTokens, refreshTokens
}

// Tx is a transaction on a partition: what fn in Update reads and writes.
type Tx struct {
	p       *Partition
	changed bool
}

// Lookup is Partition.Lookup inside the transaction (after the reload).
func (tx *Tx) Lookup(tenant string, scopes []string, cae bool) *Entry {
	return tx.p.Lookup(tenant, scopes, cae)
}

// RefreshToken returns the account's refresh token, or "".
func (tx *Tx) RefreshToken() string {
	tx.p.mu.Lock()
	defer tx.p.mu.Unlock()
	return tx.p.refresh
}

// SetRefreshToken stores the account's refresh token (after rotation, the new one).
func (tx *Tx) SetRefreshToken(rt string) {
	tx.p.mu.Lock()
	tx.p.refresh = rt
	tx.p.mu.Unlock()
	tx.changed = true
}

// RemoveRefreshToken forgets the refresh token if it is still rt (another credential may have
// rotated it meanwhile) and reports whether it did.
func (tx *Tx) RemoveRefreshToken(rt string) bool {
	tx.p.mu.Lock()
	defer tx.p.mu.Unlock()
	if rt == "" || tx.p.refresh != rt {
		return false
	}
	tx.p.refresh = ""
	tx.changed = true
	return true
}

// SetAccount records the account's details.
func (tx *Tx) SetAccount(a Account) {
	tx.p.mu.Lock()
	tx.p.acct = a
	tx.p.mu.Unlock()
	tx.changed = true
}

// Put caches tok under (tenant, scopes, cae), replacing the token of that key, and returns its
// entry. Expired tokens are swept from time to time (amortised O(1) per put).
func (tx *Tx) Put(tenant string, scopes []string, cae bool, tok Token) *Entry {
	tx.changed = true
	return tx.p.put(tenant, scopes, cae, tok)
}

func (p *Partition) put(tenant string, scopes []string, cae bool, tok Token) *Entry {
	tok.ExpiresOn, tok.RefreshOn, tok.CachedAt = tok.ExpiresOn.Round(0), tok.RefreshOn.Round(0), tok.CachedAt.Round(0)
	e := newEntry(p.core.seed, tenant, sortedCopy(scopes), cae, tok)
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tab.Load()
	if t == nil {
		t = newTable(0)
	}
	if now := p.core.now(); t.count >= p.nextSweep || t.count >= 2*len(t.buckets) || !now.Before(p.sweepAt) {
		earliest := now.Add(24 * time.Hour)
		t = t.rebuilt(func(e *Entry) bool {
			if !now.Before(e.Token.ExpiresOn) {
				return false
			}
			if e.Token.ExpiresOn.Before(earliest) {
				earliest = e.Token.ExpiresOn
			}
			return true
		})
		p.nextSweep = max(64, 2*t.count)
		p.sweepAt = earliest
		if next := now.Add(time.Minute); p.sweepAt.Before(next) {
			p.sweepAt = next
		}
	}
	t.put(e)
	p.tab.Store(t)
	return e
}

// Update runs fn as one transaction on the partition and returns its error. With a store it
// holds the partition's lock (this process's gate, then the store's cross-process lock; failing
// to get either before ctx ends is an error wrapping ErrLock, and fn does not run), reloads the
// partition if the store holds a version memory does not reflect, runs fn, and saves what fn
// changed before releasing the lock. Without a store, fn runs at once: transactions of one
// partition may then run side by side, each write applied atomically.
//
// fn must not sleep: a lock is held while it runs.
func (p *Partition) Update(ctx context.Context, fn func(*Tx) error) error {
	c := p.core
	if c.store == nil {
		tx := &Tx{p: p}
		return fn(tx)
	}
	select {
	case p.gate <- struct{}{}:
	case <-ctx.Done():
		return errors.Join(ErrLock, ctx.Err())
	}
	defer func() { <-p.gate }()
	unlock, err := c.lock(ctx, p.key)
	if errors.Is(err, ErrUnavailable) {
		// A store that says it cannot be reached (a shared store that is down) asks to fail
		// open: the transaction runs on memory, and the next one that reaches the store saves.
		c.unavailable(ctx, err)
		return p.updateMemory(fn)
	}
	if err != nil {
		return err
	}
	defer unlock()
	if err := p.reload(ctx); errors.Is(err, ErrUnavailable) {
		c.unavailable(ctx, err)
	} else if err != nil {
		return err
	}
	tx := &Tx{p: p}
	ferr := fn(tx)
	if tx.changed || p.isDirty() {
		p.save(ctx)
	}
	return ferr
}

func (p *Partition) isDirty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dirty
}

// reload makes memory reflect the store (the caller holds the partition's lock). A partition
// the store still holds at the version memory reflects is not read again. An unreadable blob
// is logged and counts as absent (the next save replaces it); a failure to read is an error.
func (p *Partition) reload(ctx context.Context) error {
	c := p.core
	p.mu.Lock()
	since := ""
	if p.loaded {
		since = p.version
	}
	p.mu.Unlock()
	data, version, err := c.store.Load(ctx, p.key, since)
	if errors.Is(err, ErrUnreadable) {
		c.warn(ctx, "cache: a stored partition is unusable; it is ignored until a good save replaces it", err)
		data, err = nil, nil
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if since != "" && version == since && data == nil {
		return nil // unchanged since this process last read or wrote it
	}
	if p.dirty && (version == p.version || version == "") {
		// Nobody saved since our failed save (or the store lost what it had, as a shared store
		// that restarted empty does): our unsaved changes are the newest, and are saved on
		// what the store holds now.
		p.version, p.loaded = version, true
		return nil
	}
	if p.dirty {
		c.warn(ctx, "cache: changes that could not be saved were replaced by newer stored tokens", nil)
	}
	var b *blob
	if data != nil {
		b, err = decode(data, p.id, c.now())
		if err != nil {
			c.warn(ctx, "cache: a stored partition is unusable; it is ignored until a good save replaces it", err)
			b = nil
		} else if b.rejected > 0 {
			c.warn(ctx, "cache: stored tokens that failed validation were ignored", nil, slog.Int("rejected", b.rejected))
		}
	}
	p.replaceLocked(b)
	p.version, p.loaded, p.dirty = version, true, false
	return nil
}

// replaceLocked sets memory to the content of b (nil: empty).
func (p *Partition) replaceLocked(b *blob) {
	p.acct, p.refresh = Account{}, ""
	t := newTable(0)
	if b != nil {
		p.acct, p.refresh = b.account(), b.RefreshToken
		t = newTable(len(b.AccessTokens))
		for _, bt := range b.AccessTokens {
			t.put(newEntry(p.core.seed, bt.Tenant, bt.Scopes, bt.CAE, bt.token()))
		}
	}
	p.tab.Store(t)
}

// save writes memory to the store (the caller holds the partition's lock). A failure is logged
// and leaves the tokens usable in memory; the next transaction saves again.
func (p *Partition) save(ctx context.Context) {
	c := p.core
	p.mu.Lock()
	b := p.blobLocked(c.now())
	prev := p.version
	p.mu.Unlock()
	var version string
	var err error
	if b.empty() {
		if prev != "" {
			err = c.store.Delete(ctx, p.key)
		}
	} else {
		version, err = c.store.Save(ctx, p.key, b.encode(), prev)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.dirty = true
		if errors.Is(err, ErrUnavailable) {
			c.unavailable(ctx, err)
			return
		}
		c.warn(ctx, "cache: saving the account's tokens failed; they stay usable in memory", err)
		return
	}
	p.version, p.loaded, p.dirty = version, true, false
}

// remove forgets the partition in memory and, under its lock, in the store.
func (p *Partition) remove(ctx context.Context) error {
	c := p.core
	var err error
	if c.store != nil {
		select {
		case p.gate <- struct{}{}:
			defer func() { <-p.gate }()
		case <-ctx.Done():
			return errors.Join(ErrLock, ctx.Err())
		}
		var unlock func()
		if unlock, err = c.lock(ctx, p.key); err != nil {
			return err
		}
		defer unlock()
		err = c.store.Delete(ctx, p.key)
	}
	p.mu.Lock()
	p.replaceLocked(nil)
	p.version, p.loaded, p.dirty = "", false, false
	p.removed.Store(true)
	p.mu.Unlock()
	c.forget(p)
	return err
}

// UpdateMemory runs fn on memory alone, without the store's lock, and marks the partition as
// holding changes to save: the next transaction saves them if nobody saved the partition
// since. It is for answers that cannot be thrown away when the lock is out of reach (a spent
// authorization code); it never redeems anything itself.
func (p *Partition) UpdateMemory(fn func(*Tx) error) { _ = p.updateMemory(fn) }

func (p *Partition) updateMemory(fn func(*Tx) error) error {
	tx := &Tx{p: p}
	err := fn(tx)
	if tx.changed && p.core.store != nil {
		p.mu.Lock()
		p.dirty = true
		p.mu.Unlock()
	}
	return err
}
