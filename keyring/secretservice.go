package keyring

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
	collectionIface = "org.freedesktop.Secret.Collection"
	noPrompt        = dbus.ObjectPath("/")
)

// SecretService reads and writes secrets in the freedesktop Secret Service (gnome-keyring,
// KWallet) over the D-Bus session bus. Lookup searches every collection on the attributes
// "service" and "account" only (as keytar and libsecret stored VS Code's secrets); Put creates
// or replaces an item with those attributes in the default collection. It never starts a bus,
// never activates a Secret Service that is not running, and never waits on an unlock prompt: a
// locked keyring is reported as ErrUnavailable.
type SecretService struct {
	// Address is the bus address; empty means DBUS_SESSION_BUS_ADDRESS, else
	// unix:path=$XDG_RUNTIME_DIR/bus.
	Address string
	// Timeout bounds a whole call when ctx has no deadline; 0 means 5 seconds.
	Timeout time.Duration
}

var _ Writer = (*SecretService)(nil)

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
	return "", fmt.Errorf("%w: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and $XDG_RUNTIME_DIR/bus does not exist)", ErrUnavailable)
}

type secretStruct struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// session is an open connection to a running Secret Service with a "plain" session.
type session struct {
	conn *dbus.Conn
	svc  dbus.BusObject
	path dbus.ObjectPath
}

func (s *session) close(ctx context.Context) {
	s.conn.Object(secretsName, s.path).CallWithContext(ctx, sessionIface+".Close", 0)
	s.conn.Close()
}

// open connects to the bus and opens a session with the Secret Service, if one is running.
func (s *SecretService) open(ctx context.Context) (*session, error) {
	addr, err := s.address()
	if err != nil {
		return nil, err
	}
	conn, err := dbus.Dial(addr, dbus.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: connecting to the D-Bus session bus: %w", ErrUnavailable, err)
	}
	fail := func(what string, err error) (*session, error) {
		conn.Close()
		return nil, fmt.Errorf("%w: %s%w", ErrUnavailable, what, err)
	}
	if err := conn.Auth(nil); err != nil {
		return fail("authenticating to the D-Bus session bus: ", err)
	}
	if err := conn.Hello(); err != nil {
		return fail("D-Bus hello: ", err)
	}
	// Ask whether a Secret Service runs before calling it: a call to an unowned name would
	// activate one (possibly a second, locked daemon).
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, secretsName).Store(&owned); err != nil {
		return fail("", err)
	}
	if !owned {
		return fail("", errors.New("no Secret Service (such as gnome-keyring) runs on the session bus"))
	}
	svc := conn.Object(secretsName, secretsPath)
	var ignored dbus.Variant
	var path dbus.ObjectPath
	if err := svc.CallWithContext(ctx, serviceIface+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &path); err != nil {
		return fail("opening a Secret Service session: ", err)
	}
	return &session{conn: conn, svc: svc, path: path}, nil
}

// unlock unlocks objects that need no person to unlock them (a prompt other than "/" needs a
// person: it is never shown or waited on).
func (s *session) unlock(ctx context.Context, objects []dbus.ObjectPath) ([]dbus.ObjectPath, error) {
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := s.svc.CallWithContext(ctx, serviceIface+".Unlock", 0, objects).Store(&unlocked, &prompt); err != nil {
		return nil, fmt.Errorf("%w: unlocking the keyring: %w", ErrUnavailable, err)
	}
	if len(unlocked) == 0 {
		return nil, fmt.Errorf("%w: the keyring is locked; unlock it (for example by signing in to the desktop session) and try again", ErrUnavailable)
	}
	return unlocked, nil
}

// Lookup implements Store.
func (s *SecretService) Lookup(ctx context.Context, service, account string) (string, error) {
	ctx, cancel := boundedContext(ctx, s.Timeout, 5*time.Second)
	defer cancel()
	ss, err := s.open(ctx)
	if err != nil {
		return "", err
	}
	defer ss.close(ctx)
	var unlocked, locked []dbus.ObjectPath
	attrs := map[string]string{"service": service, "account": account}
	if err := ss.svc.CallWithContext(ctx, serviceIface+".SearchItems", 0, attrs).Store(&unlocked, &locked); err != nil {
		return "", fmt.Errorf("%w: searching the keyring: %w", ErrUnavailable, err)
	}
	if len(unlocked) == 0 && len(locked) > 0 {
		if unlocked, err = ss.unlock(ctx, locked); err != nil {
			return "", err
		}
	}
	if len(unlocked) == 0 {
		return "", fmt.Errorf("%w: service %q, account %q", ErrNotFound, service, account)
	}
	var secrets map[dbus.ObjectPath]secretStruct
	if err := ss.svc.CallWithContext(ctx, serviceIface+".GetSecrets", 0, unlocked[:1], ss.path).Store(&secrets); err != nil {
		return "", fmt.Errorf("%w: reading the secret: %w", ErrUnavailable, err)
	}
	sec, ok := secrets[unlocked[0]]
	if !ok {
		return "", fmt.Errorf("%w: service %q, account %q", ErrNotFound, service, account)
	}
	if len(sec.Value) > maxSecretLength {
		return "", errors.New("keyring: the stored secret is implausibly large")
	}
	return strings.Clone(string(sec.Value)), nil
}

// Put implements Writer: it creates the item in the collection behind the "default" alias (the
// login keyring), replacing an item with the same attributes. A keyring without a default
// collection, or one that is locked, is ErrUnavailable: creating or unlocking it would prompt.
func (s *SecretService) Put(ctx context.Context, label, service, account, secret string) error {
	ctx, cancel := boundedContext(ctx, s.Timeout, 5*time.Second)
	defer cancel()
	ss, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer ss.close(ctx)
	var coll dbus.ObjectPath
	if err := ss.svc.CallWithContext(ctx, serviceIface+".ReadAlias", 0, "default").Store(&coll); err != nil {
		return fmt.Errorf("%w: reading the default keyring: %w", ErrUnavailable, err)
	}
	if coll == noPrompt {
		return fmt.Errorf("%w: there is no default keyring, and creating one would prompt", ErrUnavailable)
	}
	obj := ss.conn.Object(secretsName, coll)
	locked, err := obj.GetProperty(collectionIface + ".Locked")
	if err != nil {
		return fmt.Errorf("%w: reading the default keyring: %w", ErrUnavailable, err)
	}
	if isLocked, _ := locked.Value().(bool); isLocked {
		if _, err := ss.unlock(ctx, []dbus.ObjectPath{coll}); err != nil {
			return err
		}
	}
	props := map[string]dbus.Variant{
		"org.freedesktop.Secret.Item.Label":      dbus.MakeVariant(label),
		"org.freedesktop.Secret.Item.Attributes": dbus.MakeVariant(map[string]string{"service": service, "account": account}),
	}
	value := secretStruct{Session: ss.path, Parameters: []byte{}, Value: []byte(secret), ContentType: "text/plain; charset=utf8"}
	var item, prompt dbus.ObjectPath
	if err := obj.CallWithContext(ctx, collectionIface+".CreateItem", 0, props, value, true).Store(&item, &prompt); err != nil {
		return fmt.Errorf("%w: storing the secret: %w", ErrUnavailable, err)
	}
	if prompt != noPrompt {
		return fmt.Errorf("%w: storing the secret would prompt", ErrUnavailable)
	}
	return nil
}
