package authority

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	good := []struct{ name, in, host string }{
		{"bare public cloud host", "login.microsoftonline.com", "login.microsoftonline.com"},
		{"https URL with trailing slash", "https://login.microsoftonline.us/", "login.microsoftonline.us"},
		{"upper-case scheme and host are normalised", "HTTPS://Login.ChinaCloudAPI.cn", "login.chinacloudapi.cn"},
		{"host with port", "localhost:8443", "localhost:8443"},
		{"IPv4 with port", "https://127.0.0.1:9999", "127.0.0.1:9999"},
		{"IPv6 literal", "https://[::1]:443", "[::1]:443"},
		{"surrounding spaces trimmed", "  login.microsoftonline.com ", "login.microsoftonline.com"},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if a.Host() != tc.host || a.URL() != "https://"+tc.host {
				t.Errorf("Parse(%q) = %q, want host %q", tc.in, a.URL(), tc.host)
			}
		})
	}
	bad := []struct{ name, in, says string }{
		{"empty", "", "empty"},
		{"http scheme", "http://login.microsoftonline.com", "https"},
		{"other scheme", "ftp://x", "https"},
		{"user info", "https://user:pw@login.microsoftonline.com", "user info"},
		{"path", "https://login.microsoftonline.com/tenant", "path"},
		{"path on bare host", "login.microsoftonline.com/x", "path"},
		{"query", "https://login.microsoftonline.com?x=1", "query"},
		{"empty query", "https://login.microsoftonline.com?", "query"},
		{"fragment", "https://login.microsoftonline.com#frag", "fragment"},
		{"non-ASCII host", "https://lögin.example.com", "host"},
		{"punycode-less unicode bare", "例え.jp", "host"},
		{"empty label", "https://login..example.com", "host"},
		{"underscore", "https://bad_host.example", "host"},
		{"port zero", "https://localhost:0", "port"},
		{"port too large", "https://localhost:70000", "port"},
		{"empty port", "https://localhost:", "port"},
		{"encoded path", "https://h/%2e%2e", "path"},
		{"long host", "https://" + strings.Repeat("a", 300) + ".com", "host"},
	}
	for _, tc := range bad {
		t.Run(tc.name+" is rejected", func(t *testing.T) {
			_, err := Parse(tc.in)
			if !errors.Is(err, ErrInvalidAuthority) {
				t.Fatalf("Parse(%q) error = %v, want ErrInvalidAuthority", tc.in, err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Parse(%q) error %q does not say %q", tc.in, err, tc.says)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvAuthorityHost {
				return v
			}
			return ""
		}
	}
	cases := []struct {
		name, option, env, want string
		wantErr                 bool
	}{
		{"default is the public cloud", "", "", "https://login.microsoftonline.com", false},
		{"environment variable used without option", "", "login.microsoftonline.us", "https://login.microsoftonline.us", false},
		{"option beats environment", "https://login.chinacloudapi.cn", "login.microsoftonline.us", "https://login.chinacloudapi.cn", false},
		{"invalid environment value is an error", "", "http://evil", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Resolve(tc.option, env(tc.env))
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidAuthority) || !strings.Contains(err.Error(), EnvAuthorityHost) {
					t.Fatalf("err = %v, want ErrInvalidAuthority naming %s", err, EnvAuthorityHost)
				}
				return
			}
			if err != nil || a.URL() != tc.want {
				t.Fatalf("Resolve = %q, %v; want %q", a.URL(), err, tc.want)
			}
		})
	}
	if a, err := Resolve("", nil); err != nil || a.Host() != PublicCloud {
		t.Errorf("Resolve with nil getenv = %v, %v", a, err)
	}
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	a, _ := Parse("https://login.microsoftonline.com")
	tok, err := a.TokenEndpoint("contoso.onmicrosoft.com")
	if err != nil || tok != "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token" {
		t.Errorf("TokenEndpoint = %q, %v", tok, err)
	}
	auth, err := a.AuthorizeEndpoint("organizations")
	if err != nil || auth != "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize" {
		t.Errorf("AuthorizeEndpoint = %q, %v", auth, err)
	}
	if _, err := a.TokenEndpoint("../x"); !errors.Is(err, ErrInvalidTenant) {
		t.Errorf("TokenEndpoint(../x) err = %v", err)
	}
	if _, err := (Authority{}).TokenEndpoint("common"); !errors.Is(err, ErrInvalidAuthority) {
		t.Errorf("zero Authority err = %v", err)
	}
}

// An authority's error never quotes what may be a credential: a password, even in a URL that
// does not parse, a query or a fragment.
func TestParseErrorsHideCredentials(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"https://user:PASSWORD-SECRET@login.microsoftonline.com",
		"https://user:PASSWORD-SECRET@login.microsoftonline.com/tenant",
		"user:PASSWORD-SECRET@login.microsoftonline.com",
		"https://user:PASS/WORD-SECRET@login.microsoftonline.com",
		"https://us%zzer:PASSWORD-SECRET@login.microsoftonline.com",
		"http://user:PASSWORD-SECRET@login.microsoftonline.com",
		"https://login.microsoftonline.com?sig=PASSWORD-SECRET",
		"https://login.microsoftonline.com#PASSWORD-SECRET",
	} {
		_, err := Parse(in)
		if !errors.Is(err, ErrInvalidAuthority) {
			t.Fatalf("Parse(%q) error = %v, want ErrInvalidAuthority", in, err)
		}
		if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "PASS") {
			t.Errorf("Parse(%q) error quotes the secret: %v", in, err)
		}
		if !strings.Contains(err.Error(), "login.microsoftonline.com") {
			t.Errorf("Parse(%q) error does not name the host: %v", in, err)
		}
	}
	if _, err := Resolve("", func(string) string { return "https://u:PASSWORD-SECRET@h.example/x" }); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("Resolve from the environment: %v", err)
	}
}
