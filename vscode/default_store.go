//go:build !windows

package vscode

import "runtime"

func defaultSecretStore() SecretStore {
	if runtime.GOOS == "darwin" {
		return &Keychain{}
	}
	return &SecretService{}
}
