package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Keychain reads and writes generic passwords in the macOS Keychain with the security tool:
// Lookup runs `security find-generic-password -s SERVICE -a ACCOUNT -w`; Put runs
// `security -i` and writes the add-generic-password command on its standard input, so that the
// secret never appears in a process's arguments (which every user can list). An item another
// application owns (VS Code's trusts only VS Code) makes macOS ask whether to allow access;
// without a person to answer, the call fails with ErrUnavailable.
type Keychain struct {
	// Path is the security tool; empty means /usr/bin/security.
	Path string
	// Timeout bounds a call when ctx has no deadline; 0 means 10 seconds.
	Timeout time.Duration
}

var _ Writer = (*Keychain)(nil)

// errSecItemNotFound is security's exit status for "The specified item could not be found".
const errSecItemNotFound = 44

func (k *Keychain) path() string {
	if k.Path == "" {
		return "/usr/bin/security"
	}
	return k.Path
}

// Lookup implements Store.
func (k *Keychain) Lookup(ctx context.Context, service, account string) (string, error) {
	ctx, cancel := boundedContext(ctx, k.Timeout, 10*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, k.path(), "find-generic-password", "-s", service, "-a", account, "-w")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return strings.TrimSuffix(strings.TrimSuffix(stdout.String(), "\n"), "\r"), nil
	case errors.As(err, &exit) && (exit.ExitCode() == errSecItemNotFound || strings.Contains(stderr.String(), "could not be found")):
		return "", fmt.Errorf("%w: service %q, account %q", ErrNotFound, service, account)
	default:
		return "", k.failed(ctx, "find-generic-password", err, &stderr)
	}
}

// Put implements Writer. The values must not hold double quotes or line breaks (security -i
// reads one command per line, with double-quoted arguments); the secret is best base64.
func (k *Keychain) Put(ctx context.Context, label, service, account, secret string) error {
	for _, v := range []string{label, service, account, secret} {
		if strings.ContainsAny(v, "\"\\\r\n") {
			return errors.New("keyring: a Keychain value may not hold quotes, backslashes or line breaks")
		}
	}
	ctx, cancel := boundedContext(ctx, k.Timeout, 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, k.path(), "-i")
	cmd.Stdin = strings.NewReader(fmt.Sprintf("add-generic-password -U -l %q -s %q -a %q -w %q\n", label, service, account, secret))
	cmd.Stderr = &stderr // stdout is not read: it could echo the command, secret included
	if err := cmd.Run(); err != nil {
		return k.failed(ctx, "add-generic-password", err, &stderr)
	}
	if msg := stderr.String(); strings.Contains(msg, "security:") || strings.Contains(msg, "rror") {
		return fmt.Errorf("%w: %s add-generic-password: %s", ErrUnavailable, k.path(), firstLine(strings.ReplaceAll(msg, secret, "<secret>")))
	}
	return nil
}

func (k *Keychain) failed(ctx context.Context, what string, err error, stderr *bytes.Buffer) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: the Keychain did not answer in time (an access dialog may be waiting): %w", ErrUnavailable, ctx.Err())
	}
	// Never include stdout: it could hold the secret.
	return fmt.Errorf("%w: %s %s failed: %w: %s", ErrUnavailable, k.path(), what, err, firstLine(stderr.String()))
}
