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
// (and logged), never misread.
const FormatVersion = 1

// ErrUnreadable is logged (wrapped) when a Store's blob cannot be used.
var ErrUnreadable = errors.New("cache: the stored cache is unreadable")

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
	Environment string `json:"environment"`
	ClientID    string `json:"client_id"`
	Account     string `json:"account"`
	Secret      string `json:"secret"`
}

// Marshal returns the cache as a versioned JSON blob (holding secrets), without expired tokens.
func (c *Cache) Marshal() ([]byte, error) {
	now := c.now()
	c.mu.RLock()
	s := snapshot{Version: FormatVersion}
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
		s.RefreshTokens = append(s.RefreshTokens, snapshotRT{Environment: k.env, ClientID: k.clientID, Account: k.account, Secret: v})
	}
	for _, a := range c.accounts {
		s.Accounts = append(s.Accounts, a)
	}
	c.mu.RUnlock()
	return json.Marshal(s)
}

// Unmarshal adds the tokens of a blob made by Marshal to the cache (newer entries win). A blob
// of another version or malformed is an error wrapping ErrUnreadable that quotes none of it.
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
		if r.Secret != "" {
			c.rt[rtKey{r.Environment, r.ClientID, r.Account}] = r.Secret
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

func (c *Cache) load(ctx context.Context) {
	data, err := c.store.Load(ctx)
	if err != nil {
		c.warn("cache: loading the stored cache failed; starting empty", err)
		return
	}
	if len(data) == 0 {
		return
	}
	if err := c.Unmarshal(data); err != nil {
		c.warn("cache: the stored cache is unusable; starting empty and keeping the file until a good state replaces it", err)
	}
}

// save writes the cache to its Store, if any. Failures are logged: the tokens stay usable in
// memory.
func (c *Cache) save() {
	if c.store == nil {
		return
	}
	data, err := c.Marshal()
	if err == nil {
		err = c.store.Save(context.Background(), data)
	}
	if err != nil {
		c.warn("cache: saving the cache failed", err)
	}
}

func (c *Cache) warn(msg string, err error) {
	if c.logger != nil {
		c.logger.Warn(msg, "error", err.Error())
	}
}
