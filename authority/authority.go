// Package authority knows where Microsoft Entra ID lives: the authority hosts of the public and
// sovereign clouds, the AZURE_AUTHORITY_HOST override, what a well-formed tenant ID looks like,
// which tenant a request may use (tenant resolution), and the v2.0 endpoint URLs built from them.
//
// It follows the behaviour of Python's azure-identity (normalize_authority, validate_tenant_id,
// resolve_tenant), made stricter where that one lets malformed values reach a URL. See
// docs/PROTOCOL.md, section "Authorities and tenants".
//
// # Security considerations
//
// Every value that ends up in a URL is checked here first: an authority must be https with no
// user info, path, query or fragment, and a tenant ID is letters, digits and hyphens in
// dot-separated labels. So no caller input can point a token request (which carries secrets) at
// another path, host or scheme. This package never does network I/O.
package authority

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Well-known authority hosts.
const (
	PublicCloud  = "login.microsoftonline.com" // Azure public cloud
	ChinaCloud   = "login.chinacloudapi.cn"    // Azure operated by 21Vianet
	USGovernment = "login.microsoftonline.us"  // Azure US Government
)

// EnvAuthorityHost is the environment variable that overrides the default authority host.
const EnvAuthorityHost = "AZURE_AUTHORITY_HOST"

// ErrInvalidAuthority is wrapped by every error about a malformed authority host.
var ErrInvalidAuthority = errors.New("authority: invalid authority host")

// Authority is a validated authority: always https, a lower-case host and an optional port.
// Its zero value is not valid; make one with [Parse] or [Resolve].
type Authority struct {
	host string // host[:port], lower case
}

// Parse validates an authority host (docs/PROTOCOL.md#authorities-and-tenants) given either as
// a bare host name ("login.microsoftonline.com", "localhost:8443") or as an https URL
// ("https://host[:port]", one trailing slash allowed). Anything else (another scheme, user info, a path, a query, a fragment,
// non-ASCII or otherwise odd host names) is an error wrapping [ErrInvalidAuthority].
func Parse(s string) (Authority, error) {
	raw := shown(s)
	s = strings.TrimSpace(s)
	if s == "" {
		return Authority{}, fmt.Errorf("%w: empty", ErrInvalidAuthority)
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return Authority{}, fmt.Errorf("%w: %q does not parse as a URL", ErrInvalidAuthority, raw)
	}
	switch {
	case !strings.EqualFold(u.Scheme, "https"):
		return Authority{}, fmt.Errorf("%w: %q must be a TLS protected (https) URL", ErrInvalidAuthority, raw)
	case u.User != nil:
		return Authority{}, fmt.Errorf("%w: %q must not contain user info", ErrInvalidAuthority, raw)
	case u.Path != "" && u.Path != "/", u.RawPath != "", u.Opaque != "":
		return Authority{}, fmt.Errorf("%w: %q must not contain a path; give only the host, e.g. %s", ErrInvalidAuthority, raw, PublicCloud)
	case u.RawQuery != "" || u.ForceQuery:
		return Authority{}, fmt.Errorf("%w: %q must not contain a query", ErrInvalidAuthority, raw)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return Authority{}, fmt.Errorf("%w: %q must not contain a fragment", ErrInvalidAuthority, raw)
	}
	host, port := u.Hostname(), u.Port()
	if !validHost(host) {
		return Authority{}, fmt.Errorf("%w: %q has an invalid host name", ErrInvalidAuthority, raw)
	}
	if strings.HasSuffix(u.Host, ":") || (port != "" && !validPort(port)) {
		return Authority{}, fmt.Errorf("%w: %q has an invalid port", ErrInvalidAuthority, raw)
	}
	h := strings.ToLower(host)
	if strings.Contains(h, ":") { // IPv6 literal
		h = "[" + h + "]"
	}
	if port != "" {
		h += ":" + port
	}
	return Authority{host: h}, nil
}

// shown is what an error quotes of an authority: without anything that may be a credential
// (user info, even one that does not parse: everything before the last "@"), a query or a
// fragment, whose places are marked.
func shown(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = "<user info>" + rest[i:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i+1] + "<hidden>"
	}
	if ok {
		return scheme + "://" + rest
	}
	return rest
}

// Resolve picks the authority host as azure-identity does: an explicit option wins, then
// the AZURE_AUTHORITY_HOST environment variable (read through getenv, which may be nil), then
// the public cloud.
func Resolve(option string, getenv func(string) string) (Authority, error) {
	if option != "" {
		return Parse(option)
	}
	if getenv != nil {
		if env := getenv(EnvAuthorityHost); env != "" {
			a, err := Parse(env)
			if err != nil {
				return Authority{}, fmt.Errorf("%s: %w", EnvAuthorityHost, err)
			}
			return a, nil
		}
	}
	return Authority{host: PublicCloud}, nil
}

// Host returns host[:port], e.g. "login.microsoftonline.com". It is the "environment" of the
// token cache.
func (a Authority) Host() string { return a.host }

// URL returns "https://host[:port]".
func (a Authority) URL() string { return "https://" + a.host }

// String returns the same as [Authority.URL].
func (a Authority) String() string { return a.URL() }

// IsZero reports whether a is the zero Authority (not made by Parse or Resolve).
func (a Authority) IsZero() bool { return a.host == "" }

// TokenEndpoint returns the v2.0 token endpoint for tenant,
// "https://{host}/{tenant}/oauth2/v2.0/token". The tenant must be valid ([ValidateTenantID]).
func (a Authority) TokenEndpoint(tenant string) (string, error) {
	if err := ValidateTenantID(tenant); err != nil {
		return "", err
	}
	if a.IsZero() {
		return "", fmt.Errorf("%w: zero Authority", ErrInvalidAuthority)
	}
	return "https://" + a.host + "/" + tenant + "/oauth2/v2.0/token", nil
}

// AuthorizeEndpoint returns the v2.0 authorize endpoint for tenant,
// "https://{host}/{tenant}/oauth2/v2.0/authorize".
func (a Authority) AuthorizeEndpoint(tenant string) (string, error) {
	if err := ValidateTenantID(tenant); err != nil {
		return "", err
	}
	if a.IsZero() {
		return "", fmt.Errorf("%w: zero Authority", ErrInvalidAuthority)
	}
	return "https://" + a.host + "/" + tenant + "/oauth2/v2.0/authorize", nil
}

// validHost accepts DNS names (ASCII letters, digits, hyphens, dot-separated non-empty labels)
// and IP literals.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	return validLabels(h, 63)
}

func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n > 0 && n <= 65535
}

// validLabels reports whether s is non-empty dot-separated labels of ASCII letters, digits and
// hyphens, each at most max bytes long.
func validLabels(s string, max int) bool {
	if s == "" {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
		label++
		if label > max {
			return false
		}
	}
	return label > 0
}
