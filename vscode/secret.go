package vscode

import (
	"context"

	"github.com/entrakit/entrakit/keyring"
)

// SecretStore reads a secret from an OS credential store.
type SecretStore interface {
	// Lookup returns the secret stored under service and account, or an error wrapping
	// ErrSecretNotFound when there is none.
	Lookup(ctx context.Context, service, account string) (string, error)
}

// ErrSecretNotFound means the store holds no secret for the service and account (it is
// keyring.ErrNotFound).
var ErrSecretNotFound = keyring.ErrNotFound

// ErrStoreUnavailable is wrapped when the store cannot be asked at all: no D-Bus session bus,
// no Secret Service on it, a locked keyring that only a person can unlock, a Keychain that
// refuses access (it is keyring.ErrUnavailable).
var ErrStoreUnavailable = keyring.ErrUnavailable

// The OS stores, from package keyring: SecretService on Linux, Keychain on macOS,
// keyring.CredentialManager on Windows.
type (
	// SecretService is keyring.SecretService: the freedesktop Secret Service over D-Bus.
	SecretService = keyring.SecretService
	// Keychain is keyring.Keychain: the macOS Keychain through /usr/bin/security.
	Keychain = keyring.Keychain
)

func defaultSecretStore() SecretStore { return keyring.Default() }
