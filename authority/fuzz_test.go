package authority

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParse: an accepted authority always yields a token endpoint URL whose scheme, host and
// path are exactly what they should be.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"login.microsoftonline.com", "https://h:1/", "http://x", "https://u@h", "https://h/p?q#f", "[::1]:8", "%2e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		ep, err := a.TokenEndpoint("common")
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(ep)
		if err != nil || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
			u.Path != "/common/oauth2/v2.0/token" || u.Host != a.Host() {
			t.Fatalf("Parse(%q) gave endpoint %q", s, ep)
		}
	})
}

func FuzzValidateTenantID(f *testing.F) {
	for _, s := range []string{"common", "72f988bf-86f1-41af-91ab-2d7cd011db47", "contoso.onmicrosoft.com", "..", "a/b", "%2e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateTenantID(s) != nil {
			return
		}
		if strings.ContainsAny(s, "/?#%\\ \x00") || strings.Contains(s, "..") || url.PathEscape(s) != s {
			t.Fatalf("accepted tenant %q", s)
		}
	})
}
