package credential

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/oauth"
)

// AuthorizationCodeOptions configure an AuthorizationCode credential; nil means defaults.
type AuthorizationCodeOptions struct {
	// ClientSecret authenticates a confidential client (a web app); empty for public clients.
	ClientSecret string `json:"-"`
	// CodeVerifier is the PKCE verifier whose challenge the authorize request sent.
	CodeVerifier string `json:"-"`
	// Nonce is the OpenID Connect nonce the authorize request sent: when the redemption's
	// answer has an id_token, it must carry this nonce (OpenID Connect Core section 3.1.3.7),
	// else the redemption fails with ErrNonceMismatch and nothing of it is kept.
	Nonce string `json:"-"`
	// AuthorityHost is "login.microsoftonline.com" or "https://host[:port]"; empty means
	// AZURE_AUTHORITY_HOST, else the public cloud.
	AuthorityHost string
	// AdditionallyAllowedTenants are the tenants besides tenantID that requests may name;
	// "*" allows any.
	AdditionallyAllowedTenants []string
	// HTTPClient sends the token requests (it never follows their redirects); nil means a
	// client shared by every credential built without one.
	HTTPClient *http.Client
	// Cache shares and persists tokens; nil means a private in-memory cache.
	Cache *cache.Cache
	// Logger receives events and metadata, never a secret; nil is silent.
	Logger *slog.Logger
	// Now is the clock; nil means the system's wall clock. Token times are compared on the
	// wall clock, which keeps running while a machine sleeps.
	Now func() time.Time
	// Retry bounds the retries of a token request; the zero value means the defaults.
	Retry RetryOptions
}

// Format prints the options with ClientSecret and CodeVerifier redacted.
func (o AuthorizationCodeOptions) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "credential.AuthorizationCodeOptions{ClientSecret:%s CodeVerifier:%s Nonce:%s AuthorityHost:%q AdditionallyAllowedTenants:%q}",
		redactedLen(o.ClientSecret), redactedLen(o.CodeVerifier), redactedLen(o.Nonce), o.AuthorityHost, o.AdditionallyAllowedTenants)
}

// LogValue logs the options with their secrets redacted.
func (o AuthorizationCodeOptions) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_secret", redactedLen(o.ClientSecret)), slog.String("code_verifier", redactedLen(o.CodeVerifier)),
		slog.String("authority_host", o.AuthorityHost), slog.Any("additionally_allowed_tenants", o.AdditionallyAllowedTenants))
}

// AuthorizationCode redeems an authorization code, then keeps the signed-in user's tokens fresh
// with the refresh token. It is azure-identity's AuthorizationCodeCredential. It is safe for
// concurrent use.
//
// The first request redeems the code (the code is kept until a redemption succeeds) and binds
// the credential to the account the code signed in: with a shared cache it never returns
// another account's tokens. Later requests for any scope or allowed tenant use the cache, then
// the account's refresh token.
type AuthorizationCode struct {
	userCredential // GetToken, GetTokenInfo, Close
}

var _ TokenCredential = (*AuthorizationCode)(nil)

// NewAuthorizationCode makes a credential that redeems authCode, which was obtained with
// clientID and redirectURI from tenantID's authorize endpoint. It validates everything it can
// and does no network I/O; argument errors wrap ErrInvalidInput.
func NewAuthorizationCode(tenantID, clientID, authCode, redirectURI string, opts *AuthorizationCodeOptions) (*AuthorizationCode, error) {
	if opts == nil {
		opts = &AuthorizationCodeOptions{}
	}
	if authCode == "" || strings.ContainsAny(authCode, " \t\r\n") {
		return nil, fmt.Errorf("%w: an authorization code is required and has no spaces", ErrInvalidInput)
	}
	if u, err := url.Parse(redirectURI); redirectURI == "" || err != nil || u.Scheme == "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: redirectURI must be the absolute URI the code was sent to, without a fragment", ErrInvalidInput)
	}
	if opts.CodeVerifier != "" {
		if err := oauth.ValidateVerifier(opts.CodeVerifier); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
	}
	s, err := newSettings("AuthorizationCodeCredential", tenantID, clientID, &RefreshTokenOptions{
		ClientSecret: opts.ClientSecret, AuthorityHost: opts.AuthorityHost,
		AdditionallyAllowedTenants: opts.AdditionallyAllowedTenants, HTTPClient: opts.HTTPClient,
		Cache: opts.Cache, Logger: opts.Logger, Now: opts.Now, Retry: opts.Retry,
	})
	if err != nil {
		return nil, err
	}
	verifier := opts.CodeVerifier
	first := newFirstGrant(authCode, false, func(code string, r *request) url.Values {
		return oauth.AuthCodeGrant{ClientID: clientID, Code: code, RedirectURI: redirectURI, Scopes: r.scopes,
			ClientSecret: opts.ClientSecret, CodeVerifier: verifier, Claims: r.claims}.Form()
	})
	first.nonce = opts.Nonce
	return &AuthorizationCode{userCredential{e: newEngine(s), first: first}}, nil
}

// Format prints the client, tenant, authority and account; never a secret.
func (c *AuthorizationCode) Format(f fmt.State, verb rune) {
	fmt.Fprint(f, c.e.describe("credential.AuthorizationCode"))
}
