package keyring

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entrakit/entrakit/internal/testkit"
)

const (
	aRefreshToken = "0.AXoAv4j5cvGGr0GRqy180BHbR2w_rWz7RsdNjw"
	vsCodeService = "VS Code Azure" // as VS Code's Azure Account extension stored its tokens
)

func TestSecretServiceWithARealKeyring(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	bus.StoreLikeKeytar(t, vsCodeService, "AzureCloud", aRefreshToken)
	bus.StoreWithSecretTool(t, vsCodeService, "AzureUSGovernment", aRefreshToken+"-gov")
	bus.StoreLikeKeytar(t, "Some Other App", "AzureChinaCloud", "not-ours")
	store := &SecretService{Address: bus.Address}

	got, err := store.Lookup(context.Background(), vsCodeService, "AzureCloud")
	if err != nil || got != aRefreshToken {
		t.Errorf("keytar-style item: %q, %v", got, err)
	}
	got, err = store.Lookup(context.Background(), vsCodeService, "AzureUSGovernment")
	if err != nil || got != aRefreshToken+"-gov" {
		t.Errorf("item without xdg:schema: %q, %v", got, err)
	}
	if _, err := store.Lookup(context.Background(), vsCodeService, "AzureChinaCloud"); !errors.Is(err, ErrNotFound) {
		t.Errorf("other cloud (stored only for another service): %v, want ErrNotFound", err)
	}
}

func TestSecretServiceEmptyKeyring(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	_, err := (&SecretService{Address: bus.Address}).Lookup(context.Background(), vsCodeService, "AzureCloud")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("empty keyring: %v", err)
	}
}

func TestSecretServiceLockedKeyringIsUnavailableAtOnce(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	bus.StoreLikeKeytar(t, vsCodeService, "AzureCloud", aRefreshToken)
	bus.LockAll(t)
	// Were the prompt waited on, the call would end with its minute-long timeout instead.
	store := &SecretService{Address: bus.Address, Timeout: time.Minute}
	_, err := store.Lookup(context.Background(), vsCodeService, "AzureCloud")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("locked keyring: %v", err)
	}
	err = store.Put(context.Background(), "label", "entrakit", "k", "secret")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("writing to a locked keyring: %v", err)
	}
}

func TestSecretServiceBusWithoutService(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	_, err := (&SecretService{Address: bus.Address}).Lookup(context.Background(), vsCodeService, "AzureCloud")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no Secret Service") {
		t.Errorf("bus without Secret Service: %v", err)
	}
}

func TestSecretServiceNoBus(t *testing.T) {
	t.Parallel()
	_, err := (&SecretService{Address: "unix:path=/tmp/entrakit-no-such-bus-socket"}).Lookup(context.Background(), vsCodeService, "AzureCloud")
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("no bus: %v", err)
	}
}

func TestSecretServiceAddressNeverAutolaunches(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	_, err := (&SecretService{}).Lookup(context.Background(), vsCodeService, "AzureCloud")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no D-Bus session bus") {
		t.Errorf("no address: %v", err)
	}
}

func TestSecretServicePutStoresAndReplaces(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	store := &SecretService{Address: bus.Address}
	ctx := context.Background()
	for _, v := range []string{"first-secret", "second-secret"} {
		if err := store.Put(ctx, "entrakit test key", "entrakit", "cache", v); err != nil {
			t.Fatal(err)
		}
		if got, err := store.Lookup(ctx, "entrakit", "cache"); err != nil || got != v {
			t.Errorf("after Put(%q): Lookup = %q, %v", v, got, err)
		}
	}
	if _, err := store.Lookup(ctx, "entrakit", "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account: %v", err)
	}
}
