// Package cache is entrakit's token cache: access tokens by key (authority host, tenant, client
// ID, account, scope set and CAE on/off), refresh tokens by account, and the accounts signed in.
// One Cache may be shared by many credentials and goroutines; with a Store it persists.
//
// The refresh decision (when a cached token is still good enough) is made by package
// credential; this package only stores, finds and forgets. See docs/PROTOCOL.md, section
// "The token cache".
//
// # Security considerations
//
// A Cache holds secrets: access and refresh tokens. Its Format method prints only counts, never
// a token, and it never logs one. CAE and non-CAE tokens never mix (CAE is part of the key).
// A Store receives the secrets in its saved blob; persist it only where the user's other
// secrets live (a 0600 file, an OS keyring).
package cache

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Store is where a Cache persists: it loads and saves one versioned blob. Implementations must
// be safe for concurrent use.
type Store interface {
	// Load returns the saved blob, or nil and no error when nothing was saved yet.
	Load(ctx context.Context) ([]byte, error)
	// Save replaces the saved blob.
	Save(ctx context.Context, data []byte) error
}

// Options configure a Cache; nil means defaults.
type Options struct {
	Store  Store        // where the cache persists; nil keeps it in memory only
	Logger *slog.Logger // problems with the Store (never a secret); nil is silent
	Now    func() time.Time
}

// Key identifies an access token (docs/PROTOCOL.md#the-token-cache-and-the-refresh-decision).
// Scopes are a set: their order does not matter.
type Key struct {
	Environment string // authority host, e.g. "login.microsoftonline.com"
	Tenant      string
	ClientID    string
	Account     string // home account ID ("uid.utid"), or "" before one is known
	Scopes      []string
	CAE         bool
}

// AccessToken is a cached access token.
type AccessToken struct {
	Secret    string
	TokenType string
	ExpiresOn time.Time
	RefreshOn time.Time // zero: no refresh hint
	CachedAt  time.Time
}

// Account is a signed-in account, for display.
type Account struct {
	HomeAccountID string
	Environment   string
	TenantID      string
	Username      string
}

// Cache stores tokens; it is safe for concurrent use. The zero value is not usable: call New.
type Cache struct {
	mu        sync.RWMutex
	at        map[atKey][]*atEntry
	rt        map[rtKey]rtEntry
	accounts  map[string]Account
	puts      int // access tokens put so far
	nextSweep int // sweep expired tokens when puts reaches this (amortised O(1) per put)
	seed      maphash.Seed

	store  Store
	logger *slog.Logger
	now    func() time.Time

	tx    chan struct{} // one transaction (Locked) at a time in this process
	inTx  atomic.Bool   // a transaction is running: saves wait for its end
	dirty atomic.Bool   // something changed during the transaction
}

type atKey struct {
	env, tenant, clientID, account string
	scopes                         uint64 // order-insensitive hash of the scope set
	cae                            bool
}

type atEntry struct {
	scopes []string // sorted copy
	tok    AccessToken
}

type rtKey struct{ env, clientID, account string }

// rtEntry is a refresh token, or a tombstone (empty secret) recording its removal, so that a
// merge with another process's older copy cannot bring an evicted token back.
type rtEntry struct {
	secret   string
	modified time.Time
}

// New returns an empty Cache, or one loaded from opts.Store. A Store that fails to load or holds
// something unreadable is logged and the cache starts empty: it never blocks token acquisition.
func New(opts *Options) (*Cache, error) {
	if opts == nil {
		opts = &Options{}
	}
	c := &Cache{
		at: map[atKey][]*atEntry{}, rt: map[rtKey]rtEntry{}, accounts: map[string]Account{},
		store: opts.Store, logger: opts.Logger, now: opts.Now, seed: maphash.MakeSeed(),
		tx: make(chan struct{}, 1), nextSweep: 256,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.store != nil {
		c.load(context.Background())
	}
	return c, nil
}

// AccessToken returns the cached token for k that has not expired at now. It does not allocate.
func (c *Cache) AccessToken(k Key, now time.Time) (AccessToken, bool) {
	ak := c.makeATKey(k)
	c.mu.RLock()
	for _, e := range c.at[ak] {
		if sameSet(e.scopes, k.Scopes) && now.Before(e.tok.ExpiresOn) {
			t := e.tok
			c.mu.RUnlock()
			return t, true
		}
	}
	c.mu.RUnlock()
	return AccessToken{}, false
}

// PutAccessToken stores t under k, replacing any token for the same key, and drops expired
// access tokens from time to time.
func (c *Cache) PutAccessToken(k Key, t AccessToken) {
	c.putAccessToken(k, t)
	c.save()
}

func (c *Cache) putAccessToken(k Key, t AccessToken) {
	ak := c.makeATKey(k)
	scopes := slices.Clone(k.Scopes)
	slices.Sort(scopes)
	c.mu.Lock()
	bucket := c.at[ak]
	replaced := false
	for _, e := range bucket {
		if sameSet(e.scopes, scopes) {
			e.tok = t
			replaced = true
		}
	}
	if !replaced {
		c.at[ak] = append(bucket, &atEntry{scopes: scopes, tok: t})
	}
	c.puts++
	if c.puts >= c.nextSweep {
		c.sweepLocked(c.now())
	}
	c.mu.Unlock()
}

// RefreshToken returns the refresh token of an account for a client.
func (c *Cache) RefreshToken(env, clientID, account string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e := c.rt[rtKey{env, clientID, account}]
	return e.secret, e.secret != ""
}

// PutRefreshToken stores (or, after rotation, replaces) an account's refresh token. With a
// Store, it is saved before this returns (or, inside Locked, before Locked returns).
func (c *Cache) PutRefreshToken(env, clientID, account, refreshToken string) {
	c.mu.Lock()
	c.rt[rtKey{env, clientID, account}] = rtEntry{secret: refreshToken, modified: c.now()}
	c.mu.Unlock()
	c.save()
}

// RemoveRefreshToken forgets an account's refresh token if it is still refreshToken (another
// credential may have rotated it meanwhile). It reports whether it removed it.
func (c *Cache) RemoveRefreshToken(env, clientID, account, refreshToken string) bool {
	k := rtKey{env, clientID, account}
	c.mu.Lock()
	removed := c.rt[k].secret == refreshToken && refreshToken != ""
	if removed {
		c.rt[k] = rtEntry{modified: c.now()} // a tombstone
	}
	c.mu.Unlock()
	if removed {
		c.save()
	}
	return removed
}

// PutAccount records a signed-in account.
func (c *Cache) PutAccount(a Account) {
	c.mu.Lock()
	c.accounts[a.HomeAccountID] = a
	c.mu.Unlock()
	c.save()
}

// Accounts returns the recorded accounts, sorted by home account ID.
func (c *Cache) Accounts() []Account {
	c.mu.RLock()
	out := make([]Account, 0, len(c.accounts))
	for _, a := range c.accounts {
		out = append(out, a)
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b Account) int {
		if a.HomeAccountID < b.HomeAccountID {
			return -1
		}
		if a.HomeAccountID > b.HomeAccountID {
			return 1
		}
		return 0
	})
	return out
}

// Len returns the number of cached access tokens and refresh tokens.
func (c *Cache) Len() (accessTokens, refreshTokens int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, b := range c.at {
		accessTokens += len(b)
	}
	for _, e := range c.rt {
		if e.secret != "" {
			refreshTokens++
		}
	}
	return accessTokens, refreshTokens
}

// Sweep drops access tokens that have expired at now.
func (c *Cache) Sweep(now time.Time) {
	c.mu.Lock()
	c.sweepLocked(now)
	c.mu.Unlock()
}

func (c *Cache) sweepLocked(now time.Time) {
	live := 0
	defer func() { c.nextSweep = c.puts + max(256, live) }()
	for k, b := range c.at {
		b = slices.DeleteFunc(b, func(e *atEntry) bool { return !now.Before(e.tok.ExpiresOn) })
		if len(b) == 0 {
			delete(c.at, k)
		} else {
			c.at[k] = b
		}
		live += len(b)
	}
}

// Format prints counts only, never a token.
func (c *Cache) Format(f fmt.State, verb rune) {
	ats, rts := c.Len()
	fmt.Fprintf(f, "cache.Cache{access tokens: %d, refresh tokens: %d, persistent: %t}", ats, rts, c.store != nil)
}

// Format prints the token with its secret redacted.
func (t AccessToken) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "cache.AccessToken{Secret:[REDACTED] TokenType:%s ExpiresOn:%s RefreshOn:%s}",
		t.TokenType, t.ExpiresOn.Format(time.RFC3339), t.RefreshOn.Format(time.RFC3339))
}

func (c *Cache) makeATKey(k Key) atKey {
	return atKey{env: k.Environment, tenant: k.Tenant, clientID: k.ClientID, account: k.Account,
		scopes: c.scopeHash(k.Scopes), cae: k.CAE}
}

// scopeHash is order-insensitive: the sum of each scope's hash.
func (c *Cache) scopeHash(scopes []string) uint64 {
	var sum uint64
	for _, s := range scopes {
		sum += maphash.String(c.seed, s)
	}
	return sum
}

// sameSet reports whether req and sorted (sorted) hold the same set of scopes, without
// allocating. Both directions are checked so that duplicates cannot fake a match.
func sameSet(sorted, req []string) bool {
	if len(sorted) != len(req) {
		return false
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
