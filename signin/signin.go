// Package signin signs users in with Microsoft Entra ID in a browser, for any Go program: it
// builds the authorize request (OAuth 2.0 authorization code with PKCE, RFC 6749 section 4.1
// and RFC 7636, and an OpenID Connect nonce), checks the callback, and returns a ready
// credential.AuthorizationCode bound to the account that signed in. Loopback runs the whole
// flow for a command-line program (RFC 8252: a listener on 127.0.0.1 and the system browser);
// WebApp gives a web application the two handlers, start and callback, for its many users.
// docs/PROTOCOL.md#the-authorize-request-pkce-and-state explains the exchange.
//
// # Security considerations
//
// The state is random (crypto/rand), compared in constant time, and good for one callback: a
// callback with a wrong, missing or used state is answered with an error page and changes
// nothing, so no other local user or web page can end or hijack a sign-in in progress. The
// nonce of the id_token is checked, so a code from another sign-in is refused. Loopback never
// puts the authorize URL (its state and PKCE challenge) on a command line, which every local
// user can read: it opens the browser on a private file (0600 in a 0700 directory) that
// redirects to Entra. Text from the callback is escaped before it reaches a page, and WebApp's
// state cookie is sealed (AES-256-GCM), HttpOnly, Secure and SameSite=Lax. Secrets (the PKCE
// verifier, codes, tokens) never appear in errors, logs or printed values.
package signin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/entrakit/entrakit/authority"
	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	"github.com/entrakit/entrakit/entra"
	"github.com/entrakit/entrakit/oauth"
)

// OpenIDScopes are added to every authorize request unless Config.OmitOpenIDScopes: openid
// (an id_token naming the user), profile (the user's name) and offline_access (a refresh token).
var OpenIDScopes = []string{"openid", "profile", "offline_access"}

// Config is an app registration and where it signs users in. The zero value is not usable:
// ClientID is required.
type Config struct {
	// ClientID is the application (client) ID of the app registration.
	ClientID string
	// TenantID is where users sign in: a tenant's GUID or domain, or "organizations" (the
	// default), "common" or "consumers".
	TenantID string
	// ClientSecret authenticates a web app (a confidential client); empty for public clients.
	ClientSecret string `json:"-"`
	// Scopes are the resource scopes to ask for, e.g. "https://graph.microsoft.com/.default".
	Scopes []string
	// OmitOpenIDScopes leaves OpenIDScopes out of the authorize request (then no id_token names
	// the user, and no refresh token may come).
	OmitOpenIDScopes bool
	// AuthorityHost is "login.microsoftonline.com" (the default, or AZURE_AUTHORITY_HOST) or
	// "https://host[:port]".
	AuthorityHost string
	// AdditionallyAllowedTenants are tenants besides TenantID the credential may ask tokens
	// for ("*" for any).
	AdditionallyAllowedTenants []string
	// HTTPClient, Cache, Logger, Now and Retry are given to the credential.
	HTTPClient *http.Client
	Cache      *cache.Cache
	Logger     *slog.Logger
	Now        func() time.Time
	Retry      credential.RetryOptions
}

// config is a validated Config.
type config struct {
	Config
	auth authority.Config
}

func (c *Config) validate() (*config, error) {
	if c == nil || strings.TrimSpace(c.ClientID) == "" {
		return nil, fmt.Errorf("%w: Config.ClientID is required", credential.ErrInvalidInput)
	}
	tenant := c.TenantID
	if tenant == "" {
		tenant = authority.Organizations
	}
	auth, err := authority.NewConfig(c.AuthorityHost, tenant, c.AdditionallyAllowedTenants, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", credential.ErrInvalidInput, err)
	}
	if len(c.Scopes) == 0 && c.OmitOpenIDScopes {
		return nil, fmt.Errorf("%w: no scopes to ask for (Config.Scopes is empty and OmitOpenIDScopes is set)", credential.ErrInvalidInput)
	}
	if len(c.Scopes) > 0 {
		if err := (credential.TokenRequestOptions{Scopes: c.Scopes}).Validate("signin"); err != nil {
			return nil, err
		}
	}
	v := &config{Config: *c, auth: auth}
	v.TenantID = tenant
	return v, nil
}

// authorizeScopes are the scopes of the authorize request.
func (c *config) authorizeScopes() []string {
	if c.OmitOpenIDScopes {
		return c.Scopes
	}
	out := slices.Clone(OpenIDScopes)
	for _, s := range c.Scopes {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// tokenScopes are the scopes of the redemption: the resource's, else the OpenID ones.
func (c *config) tokenScopes() []string {
	if len(c.Scopes) > 0 {
		return c.Scopes
	}
	return OpenIDScopes
}

// Errors of a callback. A callback that fails with ErrStateMismatch or ErrStateUsed changes
// nothing: the sign-in in progress goes on.
var (
	ErrStateMismatch = errors.New("signin: the callback's state is not this sign-in's (a stale or forged link)")
	ErrStateUsed     = errors.New("signin: this sign-in was already finished (its state works once)")
	ErrNoCode        = errors.New("signin: the callback carries no authorization code")
	ErrTimeout       = errors.New("signin: timed out waiting for the sign-in")
)

// AuthorizeError is Entra's refusal, sent to the callback as error and error_description
// (RFC 6749 section 4.1.2.1): the user cancelled, consent is missing, and the like.
type AuthorizeError struct {
	Code        string // "access_denied", "consent_required", ...
	Description string // the first line of error_description, at most 512 bytes
	URI         string
}

func (e *AuthorizeError) Error() string {
	s := "signin: the sign-in was refused: " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

func newAuthorizeError(code, desc, uri string) *AuthorizeError {
	return &AuthorizeError{Code: bounded(code, 64), Description: bounded(oauth.FirstLine(desc), 512), URI: bounded(uri, 512)}
}

func bounded(s string, n int) string {
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "..."
	}
	return s
}

// validClaims checks a claims parameter.
func validClaims(claims string) error {
	if err := entra.ValidateClaims(claims); err != nil {
		return fmt.Errorf("%w: %w", credential.ErrInvalidInput, err)
	}
	return nil
}

// LogValue logs the configuration with the client secret left out.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", c.ClientID), slog.String("tenant_id", c.TenantID),
		slog.Bool("client_secret_set", c.ClientSecret != ""), slog.Any("scopes", c.Scopes), slog.String("authority_host", c.AuthorityHost))
}

// Format prints the configuration with the client secret left out.
func (c Config) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "signin.Config{ClientID:%s TenantID:%s ClientSecretSet:%t Scopes:%q AuthorityHost:%q}",
		c.ClientID, c.TenantID, c.ClientSecret != "", c.Scopes, c.AuthorityHost)
}
