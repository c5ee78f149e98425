package vscode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// Secret Service D-Bus names (freedesktop Secret Service API 0.2).
const (
	secretsName     = "org.freedesktop.secrets"
	secretsPath     = "/org/freedesktop/secrets"
	serviceIface    = "org.freedesktop.Secret.Service"
	sessionIface    = "org.freedesktop.Secret.Session"
	maxSecretLength = 1 << 20
)

// SecretService reads secrets from the freedesktop Secret Service (gnome-keyring, KWallet)
// over the D-Bus session bus, the way keytar and libsecret stored VS Code's: it searches every
// collection on the attributes "service" and "account" only. It never starts a bus, never
// activates a Secret Service that is not running, and never waits on an unlock prompt: a
// locked keyring is reported as ErrStoreUnavailable.
type SecretService struct {
	// Address is the bus address; empty means DBUS_SESSION_BUS_ADDRESS, else
	// unix:path=$XDG_RUNTIME_DIR/bus.
	Address string
	// Timeout bounds the whole lookup when ctx has no deadline; 0 means 5 seconds.
	Timeout time.Duration
}

var _ SecretStore = (*SecretService)(nil)

func (s *SecretService) address() (string, error) {
	if s.Address != "" {
		return s.Address, nil
	}
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		return a, nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		p := filepath.Join(dir, "bus")
		if _, err := os.Stat(p); err == nil {
			return "unix:path=" + p, nil
		}
	}
	return "", fmt.Errorf("%w: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus does not exist)", ErrStoreUnavailable)
}

type secretStruct struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// Lookup implements SecretStore.
func (s *SecretService) Lookup(ctx context.Context, service, account string) (string, error) {
	ctx, cancel := boundedContext(ctx, s.Timeout, 5*time.Second)
	defer cancel()
	addr, err := s.address()
	if err != nil {
		return "", err
	}
	conn, err := dbus.Dial(addr, dbus.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("%w: connecting to the D-Bus session bus: %v", ErrStoreUnavailable, err)
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return "", fmt.Errorf("%w: authenticating to the D-Bus session bus: %v", ErrStoreUnavailable, err)
	}
	if err := conn.Hello(); err != nil {
		return "", fmt.Errorf("%w: D-Bus hello: %v", ErrStoreUnavailable, err)
	}
	// Ask whether a Secret Service runs before calling it: a call to an unowned name would
	// activate one (possibly a second, locked daemon).
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, secretsName).Store(&owned); err != nil {
		return "", fmt.Errorf("%w: %v", ErrStoreUnavailable, err)
	}
	if !owned {
		return "", fmt.Errorf("%w: no Secret Service (such as gnome-keyring) runs on the session bus", ErrStoreUnavailable)
	}
	svc := conn.Object(secretsName, secretsPath)
	var ignored dbus.Variant
	var session dbus.ObjectPath
	if err := svc.CallWithContext(ctx, serviceIface+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &session); err != nil {
		return "", fmt.Errorf("%w: opening a Secret Service session: %v", ErrStoreUnavailable, err)
	}
	defer conn.Object(secretsName, session).CallWithContext(ctx, sessionIface+".Close", 0)

	var unlocked, locked []dbus.ObjectPath
	attrs := map[string]string{"service": service, "account": account}
	if err := svc.CallWithContext(ctx, serviceIface+".SearchItems", 0, attrs).Store(&unlocked, &locked); err != nil {
		return "", fmt.Errorf("%w: searching the keyring: %v", ErrStoreUnavailable, err)
	}
	if len(unlocked) == 0 && len(locked) > 0 {
		var prompt dbus.ObjectPath
		if err := svc.CallWithContext(ctx, serviceIface+".Unlock", 0, locked).Store(&unlocked, &prompt); err != nil {
			return "", fmt.Errorf("%w: unlocking the keyring: %v", ErrStoreUnavailable, err)
		}
		if len(unlocked) == 0 {
			// A prompt other than "/" needs a person; never wait on it.
			return "", fmt.Errorf("%w: the keyring holding the secret is locked; unlock it (for example by signing in to the desktop session) and try again", ErrStoreUnavailable)
		}
	}
	if len(unlocked) == 0 {
		return "", fmt.Errorf("%w: service %q, account %q", ErrSecretNotFound, service, account)
	}
	var secrets map[dbus.ObjectPath]secretStruct
	if err := svc.CallWithContext(ctx, serviceIface+".GetSecrets", 0, unlocked[:1], session).Store(&secrets); err != nil {
		return "", fmt.Errorf("%w: reading the secret: %v", ErrStoreUnavailable, err)
	}
	sec, ok := secrets[unlocked[0]]
	if !ok {
		return "", fmt.Errorf("%w: service %q, account %q", ErrSecretNotFound, service, account)
	}
	if len(sec.Value) > maxSecretLength {
		return "", errors.New("vscode: the stored secret is implausibly large")
	}
	return strings.Clone(string(sec.Value)), nil
}
