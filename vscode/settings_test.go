package vscode

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSettings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     Settings
	}{
		{"plain JSON", `{"azure.cloud":"AzureChinaCloud","azure.tenant":"contoso.onmicrosoft.com"}`, Settings{"AzureChinaCloud", "contoso.onmicrosoft.com"}},
		{"line and block comments", "// user settings\n{\n  /* cloud */ \"azure.cloud\": \"AzureUSGovernment\", // gov\n  \"editor.fontSize\": 14\n}", Settings{Cloud: "AzureUSGovernment"}},
		{"trailing commas", `{"azure.tenant": "t1", "list": [1, 2, ], "o": {"a": 1,},}`, Settings{Tenant: "t1"}},
		{"BOM", "\xef\xbb\xbf{\"azure.cloud\": \"AzureCloud\"}", Settings{Cloud: "AzureCloud"}},
		{"comment markers inside strings", `{"url": "https://x//y/*z*/", "azure.tenant": "a-b"}`, Settings{Tenant: "a-b"}},
		{"escaped quote in a string", `{"s": "a\"//b", "azure.cloud": "AzureCloud"}`, Settings{Cloud: "AzureCloud"}},
		{"no azure keys", `{"editor.tabSize": 2}`, Settings{}},
		{"null values", `{"azure.cloud": null}`, Settings{}},
		{"empty file", "", Settings{}},
		{"only a comment", "// nothing yet\n", Settings{}},
	}
	for _, tc := range cases {
		got, err := ParseSettings([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("%s: ParseSettings = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	bad := map[string]string{
		"a JSON array":             `["azure.cloud"]`,
		"a string":                 `"settings"`,
		"binary":                   "\x00\x01\x02\x03",
		"invalid UTF-8":            "{\"a\": \"\xff\xfe\"}",
		"unterminated comment":     `{"a": 1 /* never closed`,
		"unterminated string":      `{"azure.cloud": "AzureCloud`,
		"cloud of the wrong type":  `{"azure.cloud": 5}`,
		"tenant of the wrong type": `{"azure.tenant": {"x": 1}}`,
		"truncated object":         `{"azure.cloud": "AzureCloud",`,
		"garbage":                  `<<<>>>`,
	}
	for name, in := range bad {
		if _, err := ParseSettings([]byte(in)); !errors.Is(err, ErrSettings) {
			t.Errorf("%s: err = %v, want ErrSettings", name, err)
		}
	}
}

func TestReadSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if s, err := ReadSettings(filepath.Join(dir, "missing.json")); err != nil || s != (Settings{}) {
		t.Errorf("missing file: %+v, %v; want defaults", s, err)
	}
	huge := filepath.Join(dir, "huge.json")
	if err := os.WriteFile(huge, []byte(`{"a":"`+strings.Repeat("x", MaxSettingsSize)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSettings(huge); !errors.Is(err, ErrSettings) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge file: %v", err)
	}
	if _, err := ReadSettings(dir); !errors.Is(err, ErrSettings) {
		t.Errorf("a directory: %v", err)
	}
}

func TestSettingsPath(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		goos string
		env  map[string]string
		want string
	}{
		{"linux", nil, "/home/u/.config/Code/User/settings.json"},
		{"linux", map[string]string{"XDG_CONFIG_HOME": "/cfg"}, "/cfg/Code/User/settings.json"},
		{"freebsd", nil, "/home/u/.config/Code/User/settings.json"},
		{"darwin", nil, "/home/u/Library/Application Support/Code/User/settings.json"},
		{"windows", map[string]string{"APPDATA": "/appdata"}, filepath.Join("/appdata", "Code", "User", "settings.json")},
	}
	for _, tc := range cases {
		got, err := SettingsPath(tc.goos, env(tc.env), "/home/u")
		if err != nil || got != tc.want {
			t.Errorf("%s %v: %q, %v; want %q", tc.goos, tc.env, got, err, tc.want)
		}
	}
	if _, err := SettingsPath("windows", env(nil), "/home/u"); err == nil {
		t.Error("windows without APPDATA: no error")
	}
}

// FuzzParseSettings: any input parses or gives ErrSettings, never a panic; a result's values
// came from the input.
func FuzzParseSettings(f *testing.F) {
	for _, s := range []string{
		`{"azure.cloud":"AzureCloud"}`, "// c\n{\"azure.tenant\": \"t\", /* x */ }", "\xef\xbb\xbf{}", `{"a":[1,],}`,
		`{"s":"\"//"}`, `/*`, `"`, "\x00", `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := ParseSettings(b)
		if err != nil {
			if !errors.Is(err, ErrSettings) {
				t.Fatalf("error %v does not wrap ErrSettings", err)
			}
			return
		}
		// Whatever was accepted is a JSON object once comments and trailing commas are gone.
		plain, err := stripJSONC(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
		if err != nil {
			t.Fatalf("accepted input that does not strip: %v", err)
		}
		if len(bytes.TrimSpace(plain)) > 0 && !json.Valid(plain) {
			t.Fatalf("accepted input that is not JSON after stripping: %q", plain)
		}
	})
}
