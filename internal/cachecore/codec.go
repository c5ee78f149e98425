package cachecore

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/entrakit/entrakit/authority"
	"github.com/entrakit/entrakit/oauth"
)

// FormatVersion is the version of a partition's blob. A blob of another version is ignored
// (and logged), never misread, and replaced by the next good save.
const FormatVersion = 2

// clockSkew is how far in the future a stored time may lie (another machine's clock).
const clockSkew = 5 * time.Minute

// maxSecretSize bounds a stored token: Entra's are a few KiB.
const maxSecretSize = 32 << 10

// blob is a partition as stored: JSON, holding secrets.
type blob struct {
	Version       int         `json:"version"`
	Environment   string      `json:"environment"`
	ClientID      string      `json:"client_id"`
	HomeAccountID string      `json:"home_account_id"`
	TenantID      string      `json:"tenant_id,omitempty"`
	Username      string      `json:"username,omitempty"`
	RefreshToken  string      `json:"refresh_token,omitempty"`
	AccessTokens  []blobToken `json:"access_tokens"`

	rejected int // entries that failed validation on decode
}

type blobToken struct {
	Tenant    string    `json:"tenant"`
	Scopes    []string  `json:"scopes"`
	CAE       bool      `json:"cae,omitempty"`
	Secret    string    `json:"secret"`
	TokenType string    `json:"token_type"`
	ExpiresOn time.Time `json:"expires_on"`
	RefreshOn time.Time `json:"refresh_on,omitzero"`
	CachedAt  time.Time `json:"cached_at"`
}

func (b *blob) account() Account {
	return Account{HomeAccountID: b.HomeAccountID, Environment: b.Environment, TenantID: b.TenantID, Username: b.Username}
}

func (b *blob) empty() bool {
	return b.RefreshToken == "" && len(b.AccessTokens) == 0 && b.TenantID == "" && b.Username == ""
}

func (b *blob) encode() []byte {
	data, _ := json.Marshal(b) // strings, bools and times only: it cannot fail
	return data
}

func (bt blobToken) token() Token {
	return Token{Secret: bt.Secret, TokenType: bt.TokenType, ExpiresOn: bt.ExpiresOn, RefreshOn: bt.RefreshOn, CachedAt: bt.CachedAt}
}

// blobLocked returns memory as a blob, without expired tokens. The caller holds p.mu.
func (p *Partition) blobLocked(now time.Time) *blob {
	b := &blob{Version: FormatVersion, Environment: p.id.Environment, ClientID: p.id.ClientID, HomeAccountID: p.id.HomeAccountID,
		TenantID: p.acct.TenantID, Username: p.acct.Username, RefreshToken: p.refresh, AccessTokens: []blobToken{}}
	if t := p.tab.Load(); t != nil {
		for _, e := range t.all() {
			if now.Before(e.Token.ExpiresOn) {
				tok := e.Token
				b.AccessTokens = append(b.AccessTokens, blobToken{Tenant: e.Tenant, Scopes: e.Scopes, CAE: e.CAE, Secret: tok.Secret,
					TokenType: tok.TokenType, ExpiresOn: tok.ExpiresOn, RefreshOn: tok.RefreshOn, CachedAt: tok.CachedAt})
			}
		}
	}
	return b
}

// decodeAny reads a blob of any partition (for listing accounts); its tokens are not checked.
func decodeAny(data []byte) (*blob, error) {
	var b blob
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: not a JSON partition", ErrUnreadable)
	}
	if b.Version != FormatVersion {
		return nil, fmt.Errorf("%w: format version %d, want %d", ErrUnreadable, b.Version, FormatVersion)
	}
	if !printable(b.HomeAccountID, 256) || !printable(b.Environment, 300) || !printable(b.ClientID, 256) {
		return nil, fmt.Errorf("%w: malformed account identity", ErrUnreadable)
	}
	b.TenantID, b.Username = validOr(b.TenantID, authority.ValidateTenantID(b.TenantID) == nil), validOr(b.Username, printableText(b.Username))
	return &b, nil
}

// decode reads the blob of partition id, as of now. A blob of another version or of another
// partition (moved or planted) is an error wrapping ErrUnreadable that quotes none of it.
// Tokens that fail validation (a lifetime past oauth.MaxLifetime, a time in the future beyond
// clockSkew, a token that is not header-safe, a malformed tenant or scope) are dropped and
// counted in rejected; expired tokens are dropped silently.
func decode(data []byte, id PartitionID, now time.Time) (*blob, error) {
	b, err := decodeAny(data)
	if err != nil {
		return nil, err
	}
	if b.Environment != id.Environment || b.ClientID != id.ClientID || b.HomeAccountID != id.HomeAccountID {
		return nil, fmt.Errorf("%w: the blob belongs to another partition", ErrUnreadable)
	}
	if b.RefreshToken != "" && !printable(b.RefreshToken, maxSecretSize) {
		b.RefreshToken = ""
		b.rejected++
	}
	kept := b.AccessTokens[:0]
	for _, bt := range b.AccessTokens {
		switch {
		case !now.Before(bt.ExpiresOn):
			continue // expired
		case validToken(bt, now):
			bt.Scopes = sortedCopy(bt.Scopes)
			kept = append(kept, bt)
		default:
			b.rejected++
		}
	}
	b.AccessTokens = kept
	return b, nil
}

func validToken(bt blobToken, now time.Time) bool {
	if len(bt.Secret) > maxSecretSize || !oauth.IsBearerToken(bt.Secret) || authority.ValidateTenantID(bt.Tenant) != nil ||
		len(bt.Scopes) == 0 || len(bt.Scopes) > 64 || !printable(bt.TokenType, 64) {
		return false
	}
	for _, s := range bt.Scopes {
		if !printable(s, 1024) {
			return false
		}
	}
	switch {
	case bt.CachedAt.After(now.Add(clockSkew)), bt.CachedAt.IsZero():
		return false
	case bt.ExpiresOn.Sub(bt.CachedAt) > oauth.MaxLifetime, bt.ExpiresOn.Sub(now) > oauth.MaxLifetime:
		return false
	case !bt.RefreshOn.IsZero() && bt.RefreshOn.After(bt.ExpiresOn):
		return false
	}
	return true
}

// printable: 1 to max bytes of visible ASCII (no spaces, quotes or backslashes).
func printable(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// printableText: a display string without control characters, at most 256 bytes.
func printableText(s string) bool {
	if len(s) > 256 {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

func validOr(s string, ok bool) string {
	if ok {
		return s
	}
	return ""
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// FromV1 converts a version-1 cache file (one JSON object holding every account's tokens, from
// entrakit before partitions) into partition blobs by key. Tokens of no account, and expired or
// invalid ones, are left out.
func FromV1(data []byte, now time.Time) (map[string][]byte, error) {
	var v1 struct {
		Version      int `json:"version"`
		AccessTokens []struct {
			blobToken
			Environment string `json:"environment"`
			ClientID    string `json:"client_id"`
			Account     string `json:"account"`
		} `json:"access_tokens"`
		RefreshTokens []struct {
			Environment string `json:"environment"`
			ClientID    string `json:"client_id"`
			Account     string `json:"account"`
			Secret      string `json:"secret"`
		} `json:"refresh_tokens"`
		Accounts []Account `json:"accounts"`
	}
	if err := json.Unmarshal(data, &v1); err != nil || v1.Version != 1 {
		return nil, fmt.Errorf("%w: not a version-1 cache file", ErrUnreadable)
	}
	blobs := map[PartitionID]*blob{}
	get := func(env, client, account string) *blob {
		id := PartitionID{Environment: env, ClientID: client, HomeAccountID: account}
		if blobs[id] == nil {
			blobs[id] = &blob{Version: FormatVersion, Environment: env, ClientID: client, HomeAccountID: account, AccessTokens: []blobToken{}}
		}
		return blobs[id]
	}
	for _, rt := range v1.RefreshTokens {
		if rt.Secret != "" && printable(rt.Account, 256) && printable(rt.Environment, 300) && printable(rt.ClientID, 256) {
			get(rt.Environment, rt.ClientID, rt.Account).RefreshToken = rt.Secret
		}
	}
	for _, at := range v1.AccessTokens {
		if printable(at.Account, 256) && printable(at.Environment, 300) && printable(at.ClientID, 256) {
			b := get(at.Environment, at.ClientID, at.Account)
			b.AccessTokens = append(b.AccessTokens, at.blobToken)
		}
	}
	out := map[string][]byte{}
	for id, b := range blobs {
		for _, a := range v1.Accounts {
			if a.HomeAccountID == id.HomeAccountID && a.Environment == id.Environment {
				b.TenantID, b.Username = a.TenantID, a.Username
			}
		}
		checked, err := decode(b.encode(), id, now)
		if err == nil && !checked.empty() {
			out[Key(id)] = checked.encode()
		}
	}
	return out, nil
}
