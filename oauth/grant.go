package oauth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// Grant types (RFC 6749 sections 4.1.3 and 6).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// AuthCodeGrant is an authorization code redemption (RFC 6749 section 4.1.3, with PKCE's
// code_verifier from RFC 7636 section 4.5).
type AuthCodeGrant struct {
	ClientID     string
	Code         string `json:"-"`
	RedirectURI  string
	Scopes       []string
	ClientSecret string `json:"-"` // confidential clients only
	CodeVerifier string `json:"-"` // PKCE; empty when the code was requested without a challenge
	Claims       string // a JSON object (OpenID Connect Core section 5.5), sent verbatim
}

// Form returns the request body fields. client_info=1 asks Entra for the account's home IDs.
func (g AuthCodeGrant) Form() url.Values {
	f := url.Values{
		"grant_type":   {GrantAuthorizationCode},
		"client_id":    {g.ClientID},
		"code":         {g.Code},
		"redirect_uri": {g.RedirectURI},
		"scope":        {strings.Join(g.Scopes, " ")}, // RFC 6749 section 3.3: space-delimited
		"client_info":  {"1"},
	}
	setIf(f, "client_secret", g.ClientSecret) // RFC 6749 section 2.3.1 (client_secret_post)
	setIf(f, "code_verifier", g.CodeVerifier)
	setIf(f, "claims", g.Claims)
	return f
}

// RefreshGrant is a refresh token redemption (RFC 6749 section 6).
type RefreshGrant struct {
	ClientID     string
	RefreshToken string `json:"-"`
	Scopes       []string
	ClientSecret string `json:"-"`
	Claims       string
}

// Form returns the request body fields.
func (g RefreshGrant) Form() url.Values {
	f := url.Values{
		"grant_type":    {GrantRefreshToken},
		"client_id":     {g.ClientID},
		"refresh_token": {g.RefreshToken},
		"scope":         {strings.Join(g.Scopes, " ")},
		"client_info":   {"1"},
	}
	setIf(f, "client_secret", g.ClientSecret)
	setIf(f, "claims", g.Claims)
	return f
}

func setIf(f url.Values, k, v string) {
	if v != "" {
		f.Set(k, v)
	}
}

// ErrInvalidVerifier is returned by [ValidateVerifier].
var ErrInvalidVerifier = errors.New("oauth: a PKCE code verifier is 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~' (RFC 7636 section 4.1)")

// NewVerifier returns a fresh PKCE code verifier (32 random bytes, base64url: 43 characters).
func NewVerifier() string { return oauth2.GenerateVerifier() }

// S256Challenge returns the S256 code challenge of a verifier (RFC 7636 section 4.2).
func S256Challenge(verifier string) string { return oauth2.S256ChallengeFromVerifier(verifier) }

// ValidateVerifier checks the syntax of a PKCE code verifier (RFC 7636 section 4.1). It never
// puts the verifier in its error.
func ValidateVerifier(v string) error {
	if len(v) < 43 || len(v) > 128 {
		return ErrInvalidVerifier
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return ErrInvalidVerifier
		}
	}
	return nil
}

// Format prints the grant with its secrets (code, verifier, client secret) redacted.
func (g AuthCodeGrant) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "oauth.AuthCodeGrant{ClientID:%s Code:%s RedirectURI:%s Scopes:%q ClientSecret:%s CodeVerifier:%s Claims:%s}",
		g.ClientID, redacted(g.Code), g.RedirectURI, g.Scopes, redacted(g.ClientSecret), redacted(g.CodeVerifier), g.Claims)
}

// Format prints the grant with its secrets (refresh token, client secret) redacted.
func (g RefreshGrant) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "oauth.RefreshGrant{ClientID:%s RefreshToken:%s Scopes:%q ClientSecret:%s Claims:%s}",
		g.ClientID, redacted(g.RefreshToken), g.Scopes, redacted(g.ClientSecret), g.Claims)
}

// LogValue logs the grant with its secrets redacted.
func (g AuthCodeGrant) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", g.ClientID), slog.String("code", redacted(g.Code)), slog.String("redirect_uri", g.RedirectURI),
		slog.Any("scopes", g.Scopes), slog.String("client_secret", redacted(g.ClientSecret)), slog.String("code_verifier", redacted(g.CodeVerifier)))
}

// LogValue logs the grant with its secrets redacted.
func (g RefreshGrant) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", g.ClientID), slog.String("refresh_token", redacted(g.RefreshToken)),
		slog.Any("scopes", g.Scopes), slog.String("client_secret", redacted(g.ClientSecret)))
}
