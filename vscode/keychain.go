package vscode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Keychain reads generic passwords from the macOS Keychain with the security tool:
// security find-generic-password -s SERVICE -a ACCOUNT -w. VS Code's item trusts only VS Code,
// so other readers get an "allow access" dialog; without a person to answer it, the lookup
// fails and is reported as ErrStoreUnavailable.
type Keychain struct {
	// Path is the security tool; empty means /usr/bin/security.
	Path string
	// Timeout bounds the lookup when ctx has no deadline; 0 means 10 seconds.
	Timeout time.Duration
}

var _ SecretStore = (*Keychain)(nil)

// errSecItemNotFound is security's exit status for "The specified item could not be found".
const errSecItemNotFound = 44

// Lookup implements SecretStore.
func (k *Keychain) Lookup(ctx context.Context, service, account string) (string, error) {
	ctx, cancel := boundedContext(ctx, k.Timeout, 10*time.Second)
	defer cancel()
	path := k.Path
	if path == "" {
		path = "/usr/bin/security"
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "find-generic-password", "-s", service, "-a", account, "-w")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return strings.TrimSuffix(strings.TrimSuffix(stdout.String(), "\n"), "\r"), nil
	case errors.As(err, &exit) && (exit.ExitCode() == errSecItemNotFound || strings.Contains(stderr.String(), "could not be found")):
		return "", fmt.Errorf("%w: service %q, account %q", ErrSecretNotFound, service, account)
	case ctx.Err() != nil:
		return "", fmt.Errorf("%w: the Keychain did not answer in time (an access dialog may be waiting): %v", ErrStoreUnavailable, ctx.Err())
	default:
		// Never include stdout: it could hold the secret.
		return "", fmt.Errorf("%w: %s find-generic-password failed: %v: %s", ErrStoreUnavailable, path, err, firstLine(stderr.String()))
	}
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

// boundedContext gives ctx a deadline when it has none: timeout, or def when timeout is 0. A store
// lookup must never hang on a dialog or a stuck daemon.
func boundedContext(ctx context.Context, timeout, def time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	if timeout == 0 {
		timeout = def
	}
	return context.WithTimeout(ctx, timeout)
}
