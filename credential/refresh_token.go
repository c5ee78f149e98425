package credential

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/internal/cachecore"
	"github.com/entrakit/entrakit/oauth"
)

// RefreshTokenOptions configure a RefreshToken credential; nil means defaults. The fields are
// those of AuthorizationCodeOptions except CodeVerifier.
type RefreshTokenOptions struct {
	ClientSecret               string       `json:"-"` // confidential clients
	AuthorityHost              string       // as in AuthorizationCodeOptions
	AdditionallyAllowedTenants []string     // "*" allows any
	HTTPClient                 *http.Client // nil means a shared client
	Cache                      *cache.Cache // nil means a private in-memory cache
	Logger                     *slog.Logger // nil is silent
	Now                        func() time.Time
	Retry                      RetryOptions
}

// Format prints the options with ClientSecret redacted.
func (o RefreshTokenOptions) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "credential.RefreshTokenOptions{ClientSecret:%s AuthorityHost:%q AdditionallyAllowedTenants:%q}",
		redactedLen(o.ClientSecret), o.AuthorityHost, o.AdditionallyAllowedTenants)
}

// LogValue logs the options with the client secret redacted.
func (o RefreshTokenOptions) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_secret", redactedLen(o.ClientSecret)), slog.String("authority_host", o.AuthorityHost),
		slog.Any("additionally_allowed_tenants", o.AdditionallyAllowedTenants))
}

// RefreshToken is a credential built from a refresh token obtained elsewhere (the VS Code
// credential is built on it). The first request redeems that token and binds the credential to
// its account; rotated refresh tokens are used from then on. It is safe for concurrent use.
type RefreshToken struct {
	userCredential // GetToken, GetTokenInfo, Close
}

var _ TokenCredential = (*RefreshToken)(nil)

// NewRefreshToken makes a credential from refreshToken, issued to clientID. It does no network
// I/O; argument errors wrap ErrInvalidInput.
func NewRefreshToken(tenantID, clientID, refreshToken string, opts *RefreshTokenOptions) (*RefreshToken, error) {
	return newRefreshToken("RefreshTokenCredential", tenantID, clientID, refreshToken, opts)
}

// NewNamedRefreshToken is NewRefreshToken for credentials built on it: name is what errors and
// logs call the credential (e.g. "VisualStudioCodeCredential").
func NewNamedRefreshToken(name, tenantID, clientID, refreshToken string, opts *RefreshTokenOptions) (*RefreshToken, error) {
	return newRefreshToken(name, tenantID, clientID, refreshToken, opts)
}

func newRefreshToken(name, tenantID, clientID, refreshToken string, opts *RefreshTokenOptions) (*RefreshToken, error) {
	if opts == nil {
		opts = &RefreshTokenOptions{}
	}
	if refreshToken == "" || !validScope(refreshToken) {
		return nil, fmt.Errorf("%w: a refresh token is required and is printable ASCII without spaces", ErrInvalidInput)
	}
	s, err := newSettings(name, tenantID, clientID, opts)
	if err != nil {
		return nil, err
	}
	secret := opts.ClientSecret
	first := newFirstGrant(refreshToken, true, func(rt string, r *request) url.Values {
		return oauth.RefreshGrant{ClientID: clientID, RefreshToken: rt, Scopes: r.scopes, ClientSecret: secret, Claims: r.claims}.Form()
	})
	return &RefreshToken{userCredential{e: newEngine(s), first: first}}, nil
}

// NewFromCache makes a credential for an account already in opts.Cache (see cache.Accounts),
// for example one signed in by an earlier run that shares a persistent cache: it uses the
// account's cached tokens and refresh token, and needs no sign-in. opts.Cache is required.
func NewFromCache(tenantID, clientID, homeAccountID string, opts *RefreshTokenOptions) (*RefreshToken, error) {
	if opts == nil || opts.Cache == nil {
		return nil, fmt.Errorf("%w: NewFromCache needs RefreshTokenOptions.Cache", ErrInvalidInput)
	}
	if homeAccountID == "" || !validScope(homeAccountID) {
		return nil, fmt.Errorf("%w: a home account ID is required", ErrInvalidInput)
	}
	s, err := newSettings("RefreshTokenCredential", tenantID, clientID, opts)
	if err != nil {
		return nil, err
	}
	e := newEngine(s)
	e.part.Store(e.core.Partition(cachecore.PartitionID{Environment: s.cfg.Authority.Host(), ClientID: clientID, HomeAccountID: homeAccountID}))
	return &RefreshToken{userCredential{e: e, first: newFirstGrant("", true, nil)}}, nil
}

// Format prints the client, tenant, authority and account; never a secret.
func (c *RefreshToken) Format(f fmt.State, verb rune) {
	fmt.Fprint(f, c.e.describe("credential.RefreshToken"))
}
