package vscode

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entrakit/entrakit/internal/testkit"
)

const aRefreshToken = "0.AXoAv4j5cvGGr0GRqy180BHbR2w_rWz7RsdNjw"

func TestSecretServiceWithARealKeyring(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	bus.StoreLikeKeytar(t, CredentialsName, "AzureCloud", aRefreshToken)
	bus.StoreWithSecretTool(t, CredentialsName, "AzureUSGovernment", aRefreshToken+"-gov")
	bus.StoreLikeKeytar(t, "Some Other App", "AzureChinaCloud", "not-ours")
	store := &SecretService{Address: bus.Address}

	got, err := store.Lookup(context.Background(), CredentialsName, "AzureCloud")
	if err != nil || got != aRefreshToken {
		t.Errorf("keytar-style item: %q, %v", got, err)
	}
	got, err = store.Lookup(context.Background(), CredentialsName, "AzureUSGovernment")
	if err != nil || got != aRefreshToken+"-gov" {
		t.Errorf("item without xdg:schema: %q, %v", got, err)
	}
	if _, err := store.Lookup(context.Background(), CredentialsName, "AzureChinaCloud"); !errors.Is(err, ErrSecretNotFound) {
		t.Errorf("other cloud (stored only for another service): %v, want ErrSecretNotFound", err)
	}
}

func TestSecretServiceEmptyKeyring(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	_, err := (&SecretService{Address: bus.Address}).Lookup(context.Background(), CredentialsName, "AzureCloud")
	if !errors.Is(err, ErrSecretNotFound) {
		t.Errorf("empty keyring: %v", err)
	}
}

func TestSecretServiceLockedKeyringIsUnavailableAtOnce(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	bus.StoreLikeKeytar(t, CredentialsName, "AzureCloud", aRefreshToken)
	bus.LockAll(t)
	start := time.Now()
	_, err := (&SecretService{Address: bus.Address}).Lookup(context.Background(), CredentialsName, "AzureCloud")
	if !errors.Is(err, ErrStoreUnavailable) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("locked keyring: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v: it must not wait on the unlock prompt", el)
	}
}

func TestSecretServiceBusWithoutService(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	_, err := (&SecretService{Address: bus.Address}).Lookup(context.Background(), CredentialsName, "AzureCloud")
	if !errors.Is(err, ErrStoreUnavailable) || !strings.Contains(err.Error(), "no Secret Service") {
		t.Errorf("bus without Secret Service: %v", err)
	}
}

func TestSecretServiceNoBus(t *testing.T) {
	t.Parallel()
	_, err := (&SecretService{Address: "unix:path=/tmp/entrakit-no-such-bus-socket"}).Lookup(context.Background(), CredentialsName, "AzureCloud")
	if !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("no bus: %v", err)
	}
}

func TestSecretServiceAddressNeverAutolaunches(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	_, err := (&SecretService{}).Lookup(context.Background(), CredentialsName, "AzureCloud")
	if !errors.Is(err, ErrStoreUnavailable) || !strings.Contains(err.Error(), "no D-Bus session bus") {
		t.Errorf("no address: %v", err)
	}
}
