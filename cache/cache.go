// Package cache is entrakit's token cache: give one Cache to many credentials to share their
// tokens, and a Store to keep tokens across restarts and share them between processes.
//
// The cache is partitioned: a partition is one account's tokens for one authority host and
// client ID (its refresh token, its access tokens and its account record). Credentials read
// access tokens without locks; every write is a transaction on one partition that, with a
// Store, holds the partition's lock across processes, reloads the partition if another process
// changed it, and saves it before the credential returns. So a refresh rewrites one account's
// partition whatever the number of accounts stored, and no process ever redeems a refresh
// token another one already rotated away. See docs/PROTOCOL.md, section "The token cache and
// the refresh decision".
//
// # Security considerations
//
// A Cache holds secrets: access and refresh tokens. It never logs or prints one (Format prints
// counts). A Store receives them in the blobs it saves: keep them where the user's other
// secrets live. FileStore writes private files (0600 in a 0700 directory it checks), never
// follows a symbolic link, and refuses files another user owns. What a Store returns is
// validated before it is used: a blob of another partition, a token with an implausible
// lifetime or a time in the future is rejected.
package cache

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/entrakit/entrakit/internal/cachecore"
)

// Store is where a Cache persists its partitions: lock, load, save, delete and list them by an
// opaque key (safe as a file name and a Redis key). Implement it to keep tokens elsewhere (a
// database, a secrets manager); FileStore is one. Its methods and their contract (locks are
// held for about one HTTP round trip and never while waiting; a lock that cannot be had is an
// error; Load reports a version, and Save refuses with ErrConflict when the partition changed
// since the version loaded) are documented on the type it names.
type Store = cachecore.Store

// Errors a Store returns (wrapped) and the Cache recognises.
var (
	// ErrUnreadable is wrapped by Load for a blob that cannot be used.
	ErrUnreadable = cachecore.ErrUnreadable
	// ErrConflict is wrapped by Save when the partition changed since the version loaded.
	ErrConflict = cachecore.ErrConflict
	// ErrLock is wrapped by the error of a token request that could not lock its partition.
	ErrLock = cachecore.ErrLock
	// ErrUnavailable is wrapped by a shared Store that cannot be reached (down, or too slow)
	// to make the Cache fail open: work from memory, without the store's lock, log it, and
	// save again once the store is back. FileStore never returns it (a local lock is never
	// given up); the Redis store does, by design, so that an outage never stops a fleet.
	ErrUnavailable = cachecore.ErrUnavailable
)

// FormatVersion is the version of the partition blobs a Cache saves. A blob of another
// version is ignored (and logged), never misread, and replaced by the next good save.
const FormatVersion = cachecore.FormatVersion

// Options configure a Cache; nil means defaults.
type Options struct {
	// Store is where the cache persists; nil keeps it in memory only.
	Store Store
	// Logger receives problems with the Store (never a secret); nil is silent.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnStoreUnavailable, when set, is called (with the store's error, which holds no secret)
	// each time a token request works from memory because the Store is unavailable.
	OnStoreUnavailable func(error)
	// Recheck bounds how long an account's tokens are served from memory before the Store is
	// read again for what other processes did: a sign-out there (RemoveAccount) ends this
	// process's use of the account's cached access tokens within Recheck, and a newer token
	// is picked up. The check is one Load per account per Recheck, on a token request that
	// finds the time passed; the other requests read memory alone. 0 means DefaultRecheck.
	Recheck time.Duration
}

// DefaultRecheck is Options.Recheck's default: 30 seconds.
const DefaultRecheck = cachecore.DefaultRecheck

// Account is a signed-in account, for display. It holds no secret.
type Account struct {
	HomeAccountID string // "uid.utid" (Entra's client_info), or the id_token's sub
	Environment   string // the authority host, e.g. "login.microsoftonline.com"
	TenantID      string // the tenant the account signed in to
	Username      string // preferred_username, when the sign-in asked for an id_token
}

// Cache holds tokens of many accounts; it is safe for concurrent use and may be shared by many
// credentials. The zero value is not usable: call New.
type Cache struct {
	core *cachecore.Core
}

func init() {
	cachecore.SetUnwrap(func(v any) *cachecore.Core { return v.(*Cache).core })
}

// New returns an empty Cache, persisting to opts.Store when it is set. It does no I/O: each
// partition is read from the store when a credential first needs it.
func New(opts *Options) (*Cache, error) {
	if opts == nil {
		opts = &Options{}
	}
	if opts.Recheck < 0 {
		return nil, fmt.Errorf("cache: Options.Recheck must not be negative")
	}
	o := cachecore.Options{Logger: opts.Logger, Now: opts.Now, OnUnavailable: opts.OnStoreUnavailable, Recheck: opts.Recheck}
	if opts.Store != nil {
		o.Store = opts.Store
	}
	return &Cache{core: cachecore.New(o)}, nil
}

// Accounts returns the accounts signed in, in memory or in the store, sorted by home account ID
// (one per authority host and home account ID). Problems with the store are logged.
func (c *Cache) Accounts() []Account {
	ctx, cancel := context.WithTimeout(context.Background(), cachecore.DefaultLockWait)
	defer cancel()
	var out []Account
	for _, a := range c.core.Accounts(ctx) {
		out = append(out, Account(a))
	}
	return out
}

// RemoveAccount signs an account out: every partition of homeAccountID (its refresh and access
// tokens and its account record, for any client and authority host) is removed from memory
// and from the store, under each partition's lock. Credentials bound to the account then fail
// until it signs in again: at once in this process, and within Options.Recheck in other
// processes sharing the Store.
func (c *Cache) RemoveAccount(ctx context.Context, homeAccountID string) error {
	if homeAccountID == "" {
		return fmt.Errorf("cache: RemoveAccount needs a home account ID")
	}
	return c.core.RemoveAccount(ctx, homeAccountID)
}

// Format prints counts only, never a token.
func (c *Cache) Format(f fmt.State, verb rune) {
	parts, ats, rts := c.core.Stats()
	fmt.Fprintf(f, "cache.Cache{partitions: %d, access tokens: %d, refresh tokens: %d, persistent: %t}", parts, ats, rts, c.core.Persistent())
}

// PartitionKey returns the key under which a Store holds the partition of an account
// (homeAccountID) of a client (clientID) at an authority host (environment, e.g.
// "login.microsoftonline.com"): for tools that inspect or prepare a store.
func PartitionKey(environment, clientID, homeAccountID string) string {
	return cachecore.Key(cachecore.PartitionID{Environment: environment, ClientID: clientID, HomeAccountID: homeAccountID})
}
