package testkit

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// RequireKeyringEnv, when set (CI sets it), turns a missing dbus-daemon or gnome-keyring-daemon
// into a test failure instead of a skip, so the real keyring tests can never silently stop
// running.
const RequireKeyringEnv = "ENTRAKIT_REQUIRE_KEYRING"

// Bus is a private D-Bus session bus for one test, optionally with a real gnome-keyring on it.
type Bus struct {
	Address string   // the bus address
	Env     []string // an environment pointing at this bus and private XDG directories
	dir     string
}

// RequireBinaries skips the test (or fails it under RequireKeyringEnv) when the programs a real
// keyring needs are missing.
func RequireBinaries(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv(RequireKeyringEnv) != "" {
				t.Fatalf("%s is not installed, and %s requires the real keyring tests", n, RequireKeyringEnv)
			}
			t.Skipf("%s is not installed (apt-get install dbus-daemon gnome-keyring libsecret-tools)", n)
		}
	}
}

// StartBus starts a private dbus-daemon in a short temporary directory (unix socket paths are
// limited to 107 bytes) and stops it when the test ends.
func StartBus(t testing.TB) *Bus {
	t.Helper()
	RequireBinaries(t, "dbus-daemon")
	dir, err := os.MkdirTemp("/tmp", "ek-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"run", "data", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "XDG_DATA_HOME", "HOME":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "XDG_RUNTIME_DIR="+filepath.Join(dir, "run"), "XDG_DATA_HOME="+filepath.Join(dir, "data"), "HOME="+filepath.Join(dir, "home"))
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--nosyslog", "--address=unix:path="+filepath.Join(dir, "bus"), "--print-address")
	cmd.Env, cmd.SysProcAttr = env, ProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	b := &Bus{Address: strings.TrimSpace(line), dir: dir}
	b.Env = append(env, "DBUS_SESSION_BUS_ADDRESS="+b.Address)
	return b
}

// StartKeyring runs gnome-keyring-daemon (secrets component) on the bus with a login keyring
// unlocked by a non-empty password, and waits until it serves an unlocked default collection.
func (b *Bus) StartKeyring(t testing.TB) {
	t.Helper()
	RequireBinaries(t, "gnome-keyring-daemon")
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.Env, cmd.SysProcAttr = b.Env, ProcAttr()
	cmd.Stdin = strings.NewReader("test-keyring-password") // an empty one creates no login keyring
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	conn := b.Conn(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var owned bool
		_ = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&owned)
		if owned {
			var coll dbus.ObjectPath
			err := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&coll)
			if err == nil && coll != "/" {
				locked, err := conn.Object("org.freedesktop.secrets", coll).GetProperty("org.freedesktop.Secret.Collection.Locked")
				if err == nil && locked.Value() == false {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("gnome-keyring-daemon did not serve an unlocked default collection in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Conn connects to the bus; the connection closes when the test ends.
func (b *Bus) Conn(t testing.TB) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Dial(b.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Auth(nil); err != nil {
		t.Fatal(err)
	}
	if err := conn.Hello(); err != nil {
		t.Fatal(err)
	}
	return conn
}

type secret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// StoreLikeKeytar stores a secret in the default collection the way keytar (and so VS Code's
// Azure Account extension) did: label "SERVICE/ACCOUNT", attributes service, account and
// xdg:schema.
func (b *Bus) StoreLikeKeytar(t testing.TB, service, account, value string) {
	t.Helper()
	conn := b.Conn(t)
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		t.Fatal(err)
	}
	var coll dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&coll); err != nil {
		t.Fatal(err)
	}
	props := map[string]dbus.Variant{
		"org.freedesktop.Secret.Item.Label": dbus.MakeVariant(service + "/" + account),
		"org.freedesktop.Secret.Item.Attributes": dbus.MakeVariant(map[string]string{
			"service": service, "account": account, "xdg:schema": "org.freedesktop.Secret.Generic"}),
	}
	var item, prompt dbus.ObjectPath
	sec := secret{Session: session, Parameters: []byte{}, Value: []byte(value), ContentType: "text/plain"}
	if err := conn.Object("org.freedesktop.secrets", coll).Call("org.freedesktop.Secret.Collection.CreateItem", 0, props, sec, true).Store(&item, &prompt); err != nil {
		t.Fatal(err)
	}
	if prompt != "/" {
		t.Fatalf("CreateItem asked for a prompt: %s", prompt)
	}
}

// StoreWithSecretTool stores a secret with secret-tool (libsecret), without xdg:schema.
func (b *Bus) StoreWithSecretTool(t testing.TB, service, account, value string) {
	t.Helper()
	RequireBinaries(t, "secret-tool")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "secret-tool", "store", "--label="+service+"/"+account, "service", service, "account", account)
	cmd.Env = b.Env
	cmd.Stdin = strings.NewReader(value)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store: %v: %s", err, out)
	}
}

// LockAll locks the default collection, as a screen lock or a fresh login would leave it.
func (b *Bus) LockAll(t testing.TB) {
	t.Helper()
	conn := b.Conn(t)
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var coll dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&coll); err != nil {
		t.Fatal(err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{coll}).Store(&locked, &prompt); err != nil {
		t.Fatal(err)
	}
	if len(locked) == 0 && prompt != "/" {
		t.Fatalf("Lock asked for a prompt: %s", prompt)
	}
}
