package keyring

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSecurity writes a stand-in for /usr/bin/security that behaves like the real one for
// find-generic-password: the password and a newline, or exit 44 "could not be found".
func fakeSecurity(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "security")
	// A child process writes the script, so that this process never holds it open for writing:
	// a fork by a parallel test would inherit such a descriptor, and running the script while
	// that child lives fails with "text file busy" (golang/go#22315).
	cmd := exec.Command("/bin/sh", "-c", `cat > "$1" && chmod 700 "$1"`, "sh", p)
	cmd.Stdin = strings.NewReader("#!/bin/sh\n" + script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("writing %s: %v %s", p, err, out)
	}
	return p
}

func TestKeychain(t *testing.T) {
	t.Parallel()
	found := fakeSecurity(t, `[ "$1" = find-generic-password ] && [ "$2" = -s ] && [ "$3" = "VS Code Azure" ] && [ "$4" = -a ] && [ "$5" = AzureCloud ] && [ "$6" = -w ] && [ $# -eq 6 ] || exit 2
echo "0.AXoA-refresh-token"`)
	got, err := (&Keychain{Path: found}).Lookup(context.Background(), vsCodeService, "AzureCloud")
	if err != nil || got != "0.AXoA-refresh-token" {
		t.Errorf("found: %q, %v", got, err)
	}
	missing := fakeSecurity(t, `echo "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain." >&2; exit 44`)
	if _, err := (&Keychain{Path: missing}).Lookup(context.Background(), vsCodeService, "AzureCloud"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	denied := fakeSecurity(t, `echo "SECRET-ON-STDOUT"; echo "security: User interaction is not allowed." >&2; exit 36`)
	_, err = (&Keychain{Path: denied}).Lookup(context.Background(), vsCodeService, "AzureCloud")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "User interaction is not allowed") || strings.Contains(err.Error(), "SECRET-ON-STDOUT") {
		t.Errorf("denied: %v", err)
	}
	hang := fakeSecurity(t, `exec sleep 30`)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := (&Keychain{Path: hang}).Lookup(ctx, vsCodeService, "AzureCloud"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a dialog that is never answered: %v", err)
	}
}

func TestKeychainPutKeepsTheSecretOutOfTheArguments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args, stdin := filepath.Join(dir, "args"), filepath.Join(dir, "stdin")
	security := fakeSecurity(t, `echo "$@" > `+args+`; cat > `+stdin)
	err := (&Keychain{Path: security}).Put(context.Background(), "entrakit cache key", "entrakit", "my app", "c2VjcmV0LWtleQ==")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(args)
	in, _ := os.ReadFile(stdin)
	if strings.TrimSpace(string(a)) != "-i" || strings.Contains(string(a), "c2VjcmV0") {
		t.Errorf("arguments %q: the secret must go on stdin only", a)
	}
	if want := `add-generic-password -U -l "entrakit cache key" -s "entrakit" -a "my app" -w "c2VjcmV0LWtleQ=="` + "\n"; string(in) != want {
		t.Errorf("stdin = %q, want %q", in, want)
	}
	if err := (&Keychain{Path: security}).Put(context.Background(), "l", "s", "a", "bad\"quote"); err == nil {
		t.Error("a quote in a value must be refused (it would end the argument)")
	}
}
