//go:build !windows

package keyring

import (
	"errors"
	"runtime"
)

// Default returns the store of this operating system: the Keychain on macOS, the Secret
// Service elsewhere.
func Default() Store {
	if runtime.GOOS == "darwin" {
		return &Keychain{}
	}
	return &SecretService{}
}

// errNoDPAPI: DPAPI exists on Windows only.
var errNoDPAPI = errors.New("keyring: DPAPI is a Windows API")

// Protect encrypts data with DPAPI for the current user; it exists on Windows only.
func Protect([]byte) ([]byte, error) { return nil, errNoDPAPI }

// Unprotect decrypts what Protect returned; it exists on Windows only.
func Unprotect([]byte) ([]byte, error) { return nil, errNoDPAPI }

func dpapiKey(string, bool) ([]byte, error) { return nil, errNoDPAPI }
