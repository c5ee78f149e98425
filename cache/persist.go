package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// FormatVersion is the version of the blob a Store holds. A blob of another version is ignored
// (and logged), never misread, and replaced only by the next good save.
const FormatVersion = 1

// tombstoneTTL is how long the removal of a refresh token is remembered for merges.
const tombstoneTTL = 30 * 24 * time.Hour

// ErrUnreadable is wrapped when a Store's blob cannot be used.
var ErrUnreadable = errors.New("cache: the stored cache is unreadable")

// LockingStore is a Store that several processes can share: Lock takes an exclusive
// cross-process lock (waiting at most until ctx ends) and returns its release. The cache holds
// it around every read-modify-write, so that concurrent writers merge instead of overwriting.
type LockingStore interface {
	Store
	Lock(ctx context.Context) (unlock func(), err error)
}

type snapshot struct {
	Version       int          `json:"version"`
	AccessTokens  []snapshotAT `json:"access_tokens"`
	RefreshTokens []snapshotRT `json:"refresh_tokens"`
	Accounts      []Account    `json:"accounts"`
}

type snapshotAT struct {
	Environment string    `json:"environment"`
	Tenant      string    `json:"tenant"`
	ClientID    string    `json:"client_id"`
	Account     string    `json:"account"`
	Scopes      []string  `json:"scopes"`
	CAE         bool      `json:"cae"`
	Secret      string    `json:"secret"`
	TokenType   string    `json:"token_type"`
	ExpiresOn   time.Time `json:"expires_on"`
	RefreshOn   time.Time `json:"refresh_on"`
	CachedAt    time.Time `json:"cached_at"`
}

type snapshotRT struct {
	Environment string    `json:"environment"`
	ClientID    string    `json:"client_id"`
	Account     string    `json:"account"`
	Secret      string    `json:"secret,omitempty"` // empty: removed (a tombstone)
	Modified    time.Time `json:"modified"`
}

// Marshal returns the cache as a versioned JSON blob (holding secrets), without expired access
// tokens or old tombstones.
func (c *Cache) Marshal() ([]byte, error) {
	now := c.now()
	c.mu.RLock()
	s := snapshot{Version: FormatVersion, AccessTokens: []snapshotAT{}, RefreshTokens: []snapshotRT{}, Accounts: []Account{}}
	for k, b := range c.at {
		for _, e := range b {
			if !now.Before(e.tok.ExpiresOn) {
				continue
			}
			s.AccessTokens = append(s.AccessTokens, snapshotAT{
				Environment: k.env, Tenant: k.tenant, ClientID: k.clientID, Account: k.account,
				Scopes: e.scopes, CAE: k.cae, Secret: e.tok.Secret, TokenType: e.tok.TokenType,
				ExpiresOn: e.tok.ExpiresOn, RefreshOn: e.tok.RefreshOn, CachedAt: e.tok.CachedAt,
			})
		}
	}
	for k, v := range c.rt {
		if v.secret == "" && now.Sub(v.modified) > tombstoneTTL {
			continue
		}
		s.RefreshTokens = append(s.RefreshTokens, snapshotRT{Environment: k.env, ClientID: k.clientID, Account: k.account, Secret: v.secret, Modified: v.modified})
	}
	for _, a := range c.accounts {
		s.Accounts = append(s.Accounts, a)
	}
	c.mu.RUnlock()
	return json.Marshal(s)
}

// Unmarshal merges a blob made by Marshal into the cache: for each entry the newer one wins
// (access tokens by when they were cached, refresh tokens and their removals by when they
// changed). A blob of another version, or malformed, is an error wrapping ErrUnreadable that
// quotes none of it, and changes nothing.
func (c *Cache) Unmarshal(data []byte) error {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%w: not a JSON cache object", ErrUnreadable)
	}
	if s.Version != FormatVersion {
		return fmt.Errorf("%w: format version %d, want %d", ErrUnreadable, s.Version, FormatVersion)
	}
	now := c.now()
	for _, a := range s.AccessTokens {
		if !now.Before(a.ExpiresOn) || a.Secret == "" || len(a.Scopes) == 0 || strings.TrimSpace(a.Environment) == "" {
			continue
		}
		k := Key{Environment: a.Environment, Tenant: a.Tenant, ClientID: a.ClientID, Account: a.Account, Scopes: a.Scopes, CAE: a.CAE}
		if old, ok := c.AccessToken(k, now); ok && !old.CachedAt.Before(a.CachedAt) {
			continue
		}
		c.putAccessToken(k, AccessToken{Secret: a.Secret, TokenType: a.TokenType, ExpiresOn: a.ExpiresOn, RefreshOn: a.RefreshOn, CachedAt: a.CachedAt})
	}
	c.mu.Lock()
	for _, r := range s.RefreshTokens {
		k := rtKey{r.Environment, r.ClientID, r.Account}
		if old, ok := c.rt[k]; !ok || r.Modified.After(old.modified) {
			c.rt[k] = rtEntry{secret: r.Secret, modified: r.Modified}
		}
	}
	for _, a := range s.Accounts {
		if a.HomeAccountID != "" {
			c.accounts[a.HomeAccountID] = a
		}
	}
	c.mu.Unlock()
	return nil
}

// Locked runs fn as one transaction against the Store: it takes the Store's cross-process lock
// (a LockingStore), merges what the Store holds into the cache, runs fn, and saves the merged
// result before releasing the lock. Credentials run every token request in it, so processes
// sharing a file never redeem the same (rotated-away) refresh token. Without a Store it just
// runs fn. If the lock cannot be had before ctx ends, fn runs anyway and the failure is logged:
// persistence problems never block token acquisition.
func (c *Cache) Locked(ctx context.Context, fn func() error) error {
	if c.store == nil {
		return fn()
	}
	select {
	case c.tx <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.tx }()
	if ls, ok := c.store.(LockingStore); ok {
		unlock, err := ls.Lock(ctx)
		if err != nil {
			c.warn("cache: could not lock the stored cache; going on without the lock", err)
		} else {
			defer unlock()
		}
	}
	c.load(ctx)
	c.inTx.Store(true)
	err := fn()
	c.inTx.Store(false)
	if c.dirty.Swap(false) {
		c.write(ctx)
	}
	return err
}

// load merges the Store's blob into the cache; problems are logged and leave the cache as it is.
func (c *Cache) load(ctx context.Context) {
	data, err := c.store.Load(ctx)
	if err != nil {
		c.warn("cache: loading the stored cache failed; going on with what is in memory", err)
		return
	}
	if len(data) == 0 {
		return
	}
	if err := c.Unmarshal(data); err != nil {
		c.warn("cache: the stored cache is unusable; going on with what is in memory and keeping the file until a good state replaces it", err)
	}
}

// save persists a change: inside a transaction at its end, otherwise in a transaction of its
// own (lock, merge, write), so that nothing another process wrote is lost.
func (c *Cache) save() {
	if c.store == nil {
		return
	}
	c.dirty.Store(true)
	if c.inTx.Load() {
		return
	}
	_ = c.Locked(context.Background(), func() error { return nil })
}

func (c *Cache) write(ctx context.Context) {
	data, err := c.Marshal()
	if err == nil {
		err = c.store.Save(ctx, data)
	}
	if err != nil {
		c.warn("cache: saving the cache failed; the tokens stay usable in memory", err)
	}
}

func (c *Cache) warn(msg string, err error) {
	if c.logger != nil {
		c.logger.Warn(msg, "error", err.Error())
	}
}
