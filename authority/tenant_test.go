package authority

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateTenantID(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{
		"72f988bf-86f1-41af-91ab-2d7cd011db47", "contoso.onmicrosoft.com", "organizations",
		"common", "adfs", "a", "A-1.b-2", strings.Repeat("a", MaxTenantIDLength),
	} {
		if err := ValidateTenantID(ok); err != nil {
			t.Errorf("ValidateTenantID(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{
		"", "../x", "a/b", "%2e%2e", "..", ".", "a..b", ".a", "a.", "a b", "a\nb", "a?b", "a#b",
		"tenänt", "a\x00b", strings.Repeat("a", MaxTenantIDLength+1), strings.Repeat("x", 10<<10),
	} {
		err := ValidateTenantID(bad)
		if !errors.Is(err, ErrInvalidTenant) {
			t.Errorf("ValidateTenantID(%q) = %v, want ErrInvalidTenant", bad, err)
			continue
		}
		if len(err.Error()) > 400 {
			t.Errorf("error for a %d-byte tenant is %d bytes long; it should be truncated", len(bad), len(err.Error()))
		}
	}
}

func TestResolveTenant(t *testing.T) {
	t.Parallel()
	noEnv := func(string) string { return "" }
	disabled := func(k string) string {
		if k == EnvDisableMultiTenantAuth {
			return "false" // any non-empty value disables, as in the reference
		}
		return ""
	}
	cases := []struct {
		name              string
		def, req          string
		allowed           []string
		env               func(string) string
		want              string
		wantNotAllowed    bool
		wantInvalidTenant bool
	}{
		{"no requested tenant gives the default", "home", "", nil, noEnv, "home", false, false},
		{"the default itself is always allowed", "home", "home", nil, noEnv, "home", false, false},
		{"another tenant is refused without allow-list", "home", "other", nil, noEnv, "", true, false},
		{"allow-list entry permits a tenant", "home", "other", []string{"other"}, noEnv, "other", false, false},
		{"comparison is exact", "home", "Other", []string{"other"}, noEnv, "", true, false},
		{"star permits any tenant", "home", "other", []string{"*"}, noEnv, "other", false, false},
		{"organizations default with empty allow-list permits any tenant", "organizations", "other", nil, noEnv, "other", false, false},
		{"organizations default with a non-matching allow-list refuses", "organizations", "other", []string{"x"}, noEnv, "", true, false},
		{"adfs pins the default", "adfs", "other", []string{"*"}, noEnv, "adfs", false, false},
		{"disabling multi-tenant auth pins the default", "home", "other", nil, disabled, "home", false, false},
		{"no default tenant takes the requested one", "", "other", nil, noEnv, "other", false, false},
		{"malformed requested tenant is invalid even with star", "home", "../x", []string{"*"}, noEnv, "", false, true},
		{"nil getenv is no environment", "home", "other", []string{"other"}, nil, "other", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveTenant(tc.def, tc.req, tc.allowed, tc.env)
			switch {
			case tc.wantNotAllowed:
				if !errors.Is(err, ErrTenantNotAllowed) || !strings.Contains(err.Error(), "AdditionallyAllowedTenants") {
					t.Fatalf("err = %v, want ErrTenantNotAllowed naming AdditionallyAllowedTenants", err)
				}
			case tc.wantInvalidTenant:
				if !errors.Is(err, ErrInvalidTenant) {
					t.Fatalf("err = %v, want ErrInvalidTenant", err)
				}
			default:
				if err != nil || got != tc.want {
					t.Fatalf("ResolveTenant = %q, %v; want %q", got, err, tc.want)
				}
			}
		})
	}
}
