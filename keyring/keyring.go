// Package keyring reads and writes secrets in the operating system's secret stores: the
// freedesktop Secret Service over D-Bus (gnome-keyring, KWallet) on Linux, the Keychain through
// /usr/bin/security on macOS, and the Credential Manager and DPAPI on Windows. Package vscode
// reads the refresh token VS Code's Azure Account extension stored with it; package cache keeps
// the key that encrypts tokens at rest in it.
//
// Everything here is pure Go on the standard library and godbus: no cgo, no libsecret.
// The facts of each store are in docs/PROTOCOL.md#the-vs-code-credential and the README.
//
// # Security considerations
//
// A secret read or written here never appears in an error, a log record or a command line: the
// Keychain is written through `security -i` with the commands on standard input, never in
// argv. Nothing here starts a D-Bus daemon, activates a Secret Service that is not running, or
// waits on an unlock prompt or an access dialog: a locked keyring or a refused dialog is
// reported as ErrUnavailable at once, and every call is bounded in time.
package keyring

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Store reads a secret from an OS secret store.
type Store interface {
	// Lookup returns the secret stored under service and account, or an error wrapping
	// ErrNotFound when there is none.
	Lookup(ctx context.Context, service, account string) (string, error)
}

// Writer is a Store that can also store a secret.
type Writer interface {
	Store
	// Put stores secret under service and account (replacing what is there), with label as
	// the name people see in the store's own tools.
	Put(ctx context.Context, label, service, account, secret string) error
}

// ErrNotFound means the store holds no secret for the service and account.
var ErrNotFound = errors.New("keyring: no such secret")

// ErrUnavailable is wrapped when the store cannot be asked at all: no D-Bus session bus, no
// Secret Service on it, a locked keyring that only a person can unlock, a Keychain that refuses
// access.
var ErrUnavailable = errors.New("keyring: the OS secret store is unavailable")

// maxSecretLength bounds what a store may return: secrets here are tokens and keys.
const maxSecretLength = 1 << 20

// boundedContext gives ctx a deadline when it has none: timeout, or def when timeout is 0. A store
// call must never hang on a dialog or a stuck daemon.
func boundedContext(ctx context.Context, timeout, def time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	if timeout == 0 {
		timeout = def
	}
	return context.WithTimeout(ctx, timeout)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
