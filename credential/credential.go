// Package credential gets Microsoft Entra ID access tokens: AuthorizationCode redeems an
// authorization code (RFC 6749 section 4.1, with PKCE) and keeps the user's tokens fresh with
// the refresh token (section 6); RefreshToken starts from a refresh token obtained elsewhere.
// Both cache tokens per key, refresh them before they expire, share one request among
// concurrent callers, and resolve tenants the way Python's azure-identity does.
//
// Errors: arguments that can never work wrap [ErrInvalidInput] and fail before any network
// call; a server that refuses or answers nonsense gives [*AuthenticationFailedError]; a
// credential that cannot run here gives [*CredentialUnavailableError], so a chain can move on.
//
// The protocol, exchange by exchange, is in docs/PROTOCOL.md.
//
// # Security considerations
//
// Client secrets, codes, verifiers and tokens never appear in an error, a log record, or the
// %v, %+v, %#v or %s output of any value this package returns or accepts: options, credentials
// and tokens have Format methods that redact them, and text a server sends back is scrubbed of
// every secret the request carried. Token requests never follow redirects. The Logger option
// logs events and metadata only. JWT claims are read unverified, only to name an account and as
// an expiry hint, never to decide trust.
package credential

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/entrakit/entrakit/entra"
)

// ErrInvalidInput is wrapped by every argument error: no scopes, a malformed scope, a bad or
// refused tenant, a bad authority, claims that are not a JSON object, an empty client ID.
var ErrInvalidInput = errors.New("credential: invalid input")

// ErrClosed is wrapped by the error of a call on a closed credential.
var ErrClosed = errors.New("credential: the credential is closed")

// TokenRequestOptions describe the token wanted.
type TokenRequestOptions struct {
	Scopes    []string // at least one, e.g. "https://graph.microsoft.com/.default"
	Claims    string   // a JSON object, e.g. from a claims challenge; skips the cache read
	TenantID  string   // optional; subject to tenant resolution
	EnableCAE bool     // continuous access evaluation (client capability CP1)
}

// AccessToken is a bearer token and its expiry. Printed (Format) and logged (LogValue) it is
// redacted. Its JSON carries the token, by design: it and AccessTokenInfo are the only values
// of entrakit whose JSON holds a secret (the access token), for handing a token on; no value
// ever serializes a refresh token, code, verifier or client secret.
type AccessToken struct {
	Token     string
	ExpiresOn time.Time
}

// AccessTokenInfo is an access token with the details azure-identity's get_token_info gives.
// Printed and logged it is redacted; its JSON carries the token, as AccessToken's does.
type AccessTokenInfo struct {
	Token     string
	ExpiresOn time.Time
	TokenType string    // "Bearer" unless the server says otherwise
	RefreshOn time.Time // zero when the server gave no refresh hint and none applies
}

// TokenCredential is what every entrakit credential implements.
type TokenCredential interface {
	GetToken(ctx context.Context, opts TokenRequestOptions) (AccessToken, error)
}

// Format prints the token redacted.
func (t AccessToken) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "credential.AccessToken{Token:%s ExpiresOn:%s}", redactedLen(t.Token), t.ExpiresOn.Format(time.RFC3339))
}

// Format prints the token redacted.
func (t AccessTokenInfo) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "credential.AccessTokenInfo{Token:%s ExpiresOn:%s TokenType:%s RefreshOn:%s}",
		redactedLen(t.Token), t.ExpiresOn.Format(time.RFC3339), t.TokenType, t.RefreshOn.Format(time.RFC3339))
}

// LogValue logs the token redacted.
func (t AccessToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token", redactedLen(t.Token)), slog.Time("expires_on", t.ExpiresOn))
}

// LogValue logs the token redacted.
func (t AccessTokenInfo) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token", redactedLen(t.Token)), slog.Time("expires_on", t.ExpiresOn),
		slog.String("token_type", t.TokenType), slog.Time("refresh_on", t.RefreshOn))
}

func redactedLen(s string) string {
	if s == "" {
		return `""`
	}
	return fmt.Sprintf("[REDACTED %d bytes]", len(s))
}

// Validate checks the options a credential can check without knowing its tenant: at least one
// scope, each an RFC 6749 scope-token, and claims that are empty or a JSON object. The error
// wraps ErrInvalidInput; method names the caller in it ("GetToken").
func (o TokenRequestOptions) Validate(method string) error {
	if err := validateRequest(method, &o); err != nil {
		return err
	}
	if err := entra.ValidateClaims(o.Claims); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	return nil
}

// validateRequest checks the scopes before anything else happens. It does not allocate.
func validateRequest(method string, opts *TokenRequestOptions) error {
	if len(opts.Scopes) == 0 {
		return fmt.Errorf("%w: %q requires at least one scope", ErrInvalidInput, method)
	}
	for i, s := range opts.Scopes {
		if !validScope(s) {
			return fmt.Errorf("%w: scope %d is empty or has a character outside RFC 6749's scope-token (such as a space)", ErrInvalidInput, i)
		}
	}
	return nil
}

// validScope: RFC 6749 section 3.3, scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScope(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
