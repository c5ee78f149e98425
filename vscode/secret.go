package vscode

import (
	"context"
	"errors"
)

// SecretStore reads a secret from an OS credential store.
type SecretStore interface {
	// Lookup returns the secret stored under service and account, or an error wrapping
	// ErrSecretNotFound when there is none.
	Lookup(ctx context.Context, service, account string) (string, error)
}

// ErrSecretNotFound means the store holds no secret for the service and account.
var ErrSecretNotFound = errors.New("vscode: no such secret")

// ErrStoreUnavailable is wrapped when the store cannot be asked at all: no D-Bus session bus,
// no Secret Service on it, a locked keyring that only a person can unlock, a Keychain that
// refuses access.
var ErrStoreUnavailable = errors.New("vscode: the OS credential store is unavailable")
