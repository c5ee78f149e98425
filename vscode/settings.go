package vscode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"unicode/utf8"

	"github.com/entrakit/entrakit/internal/safefile"
)

// MaxSettingsSize bounds settings.json: real ones are a few KiB.
const MaxSettingsSize = 4 << 20

// ErrSettings is wrapped by every error about an unusable settings.json.
var ErrSettings = errors.New("vscode: unusable VS Code settings")

// Settings are the values the credential reads from VS Code's user settings.
type Settings struct {
	Cloud  string // "azure.cloud"; "" when unset (meaning AzureCloud)
	Tenant string // "azure.tenant"; "" when unset (meaning organizations)
}

// SettingsPath returns VS Code's user settings.json for an operating system: Linux
// $XDG_CONFIG_HOME/Code/User (default ~/.config), macOS ~/Library/Application Support/Code/User,
// Windows %APPDATA%\Code\User. getenv and home are injected for tests.
func SettingsPath(goos string, getenv func(string) string, home string) (string, error) {
	switch goos {
	case "windows":
		appData := getenv("APPDATA")
		if appData == "" {
			return "", errors.New("vscode: APPDATA is not set")
		}
		return filepath.Join(appData, "Code", "User", "settings.json"), nil
	case "darwin":
		if home == "" {
			return "", errors.New("vscode: no home directory")
		}
		return filepath.Join(home, "Library", "Application Support", "Code", "User", "settings.json"), nil
	default:
		config := getenv("XDG_CONFIG_HOME")
		if config == "" {
			if home == "" {
				return "", errors.New("vscode: no home directory")
			}
			config = filepath.Join(home, ".config")
		}
		return filepath.Join(config, "Code", "User", "settings.json"), nil
	}
}

// ReadSettings reads settings.json at path. A missing file means defaults (zero Settings and no
// error); anything else that cannot be used is an error wrapping ErrSettings.
func ReadSettings(path string) (Settings, error) {
	b, err := safefile.ReadRegular(path, MaxSettingsSize)
	if errors.Is(err, fs.ErrNotExist) {
		return Settings{}, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("%w: %w", ErrSettings, err)
	}
	s, err := ParseSettings(b)
	if err != nil {
		return Settings{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseSettings parses settings.json, which is JSONC: JSON with line and block comments,
// trailing commas and an optional UTF-8 byte order mark. Binary content, a top level that is not
// an object, and values of the wrong type are errors wrapping ErrSettings.
func ParseSettings(b []byte) (Settings, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return Settings{}, fmt.Errorf("%w: the file is binary, not JSON text", ErrSettings)
	}
	plain, err := stripJSONC(b)
	if err != nil {
		return Settings{}, fmt.Errorf("%w: %w", ErrSettings, err)
	}
	if len(bytes.TrimSpace(plain)) == 0 {
		return Settings{}, nil // an empty file is what VS Code treats as no settings
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(plain, &m); err != nil || m == nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return Settings{}, fmt.Errorf("%w: invalid JSON near byte %d", ErrSettings, syn.Offset)
		}
		return Settings{}, fmt.Errorf("%w: the top level is not a JSON object", ErrSettings)
	}
	var s Settings
	for key, dst := range map[string]*string{"azure.cloud": &s.Cloud, "azure.tenant": &s.Tenant} {
		raw, ok := m[key]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return Settings{}, fmt.Errorf("%w: %q must be a string", ErrSettings, key)
		}
	}
	return s, nil
}

// stripJSONC turns JSONC into JSON: comments become spaces (so offsets stay meaningful) and
// commas directly before a closing bracket are dropped. Strings are copied untouched.
func stripJSONC(in []byte) ([]byte, error) {
	out := make([]byte, 0, len(in))
	lastComma := -1 // index in out of a comma that may turn out to be trailing
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '"':
			j := i + 1
			for ; j < len(in); j++ {
				if in[j] == '\\' {
					j++
					continue
				}
				if in[j] == '"' {
					break
				}
			}
			if j >= len(in) {
				return nil, errors.New("unterminated string")
			}
			out = append(out, in[i:j+1]...)
			i = j
			lastComma = -1
		case c == '/' && i+1 < len(in) && in[i+1] == '/':
			for i < len(in) && in[i] != '\n' {
				i++
			}
			out = append(out, '\n')
		case c == '/' && i+1 < len(in) && in[i+1] == '*':
			end := bytes.Index(in[i+2:], []byte("*/"))
			if end < 0 {
				return nil, errors.New("unterminated block comment")
			}
			out = append(out, ' ')
			i += 2 + end + 1
		case c == ',':
			lastComma = len(out)
			out = append(out, c)
		case c == '}' || c == ']':
			if lastComma >= 0 {
				out[lastComma] = ' '
			}
			lastComma = -1
			out = append(out, c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			out = append(out, c)
		default:
			lastComma = -1
			out = append(out, c)
		}
	}
	return out, nil
}
