package cache

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/entrakit/entrakit/internal/cachecore"
	"github.com/entrakit/entrakit/internal/testkit"
	"github.com/entrakit/entrakit/keyring"
)

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
)

const canary = `{"refresh_token":"SECRETCANARY-RT","access_tokens":[{"secret":"SECRETCANARY-AT"}]}`

func sealed(t *testing.T, dir string, keys ...KeySource) *EncryptedStore {
	t.Helper()
	fs, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewEncryptedStore(fs, &EncryptionOptions{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func saveTo(t *testing.T, st Store, key, data string) {
	t.Helper()
	unlock, err := st.Lock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	_, prev, err := st.Load(ctx, key, "")
	if err != nil && !errors.Is(err, ErrUnreadable) {
		t.Fatal(err)
	}
	if _, err := st.Save(ctx, key, []byte(data), prev); err != nil {
		t.Fatal(err)
	}
}

func rawFile(t *testing.T, dir, key string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, key+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealedPartitionsOpenWithTheirKeyAndHideTheirTokens(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := sealed(t, dir, StaticKey(key1))
	saveTo(t, st, testKey, canary)
	if raw := rawFile(t, dir, testKey); bytes.Contains(raw, []byte("SECRETCANARY")) {
		t.Fatal("a token is readable in the file")
	}
	data, _, err := sealed(t, dir, StaticKey(key1)).Load(ctx, testKey, "") // another process, the same key
	if err != nil || string(data) != canary {
		t.Fatalf("Load = %q, %v", data, err)
	}
}

func TestWhatMustNotOpenDoesNot(t *testing.T) {
	t.Parallel()
	otherKey := cachecore.Key(cachecore.PartitionID{Environment: "login.microsoftonline.com", ClientID: "c", HomeAccountID: "mallory.t"})
	cases := []struct {
		name   string
		attack func(t *testing.T, dir string)
		keys   []KeySource
	}{
		{"tampered ciphertext", func(t *testing.T, dir string) {
			raw := rawFile(t, dir, testKey)
			raw[len(raw)-5] ^= 1
			_ = os.WriteFile(filepath.Join(dir, testKey+".json"), raw, 0o600)
		}, []KeySource{StaticKey(key1)}},
		{"a partition moved to another account", func(t *testing.T, dir string) {
			_ = os.Rename(filepath.Join(dir, otherKey+".json"), filepath.Join(dir, testKey+".json"))
		}, []KeySource{StaticKey(key1)}},
		{"a plaintext partition planted", func(t *testing.T, dir string) {
			plain := sealed(t, dir, InsecurePlaintext)
			_ = plain.Delete(ctx, testKey)
			saveTo(t, plain, testKey, `{"planted":true}`)
		}, []KeySource{StaticKey(key1)}},
		{"another key", func(t *testing.T, dir string) {}, []KeySource{StaticKey(key2)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			st := sealed(t, dir, StaticKey(key1))
			saveTo(t, st, testKey, canary)
			saveTo(t, st, otherKey, `{"mallory":1}`)
			tc.attack(t, dir)
			before := rawFile(t, dir, testKey)
			reader := sealed(t, dir, tc.keys...)
			if _, _, err := reader.Load(ctx, testKey, ""); !errors.Is(err, ErrUnreadable) {
				t.Fatalf("Load = %v, want ErrUnreadable", err)
			}
			if !bytes.Equal(rawFile(t, dir, testKey), before) {
				t.Error("reading changed the file: it must stay until a good save replaces it")
			}
			saveTo(t, reader, testKey, `{"good":1}`)
			if data, _, err := reader.Load(ctx, testKey, ""); err != nil || string(data) != `{"good":1}` {
				t.Errorf("after a good save: %q, %v", data, err)
			}
		})
	}
}

func TestKeysRotate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	saveTo(t, sealed(t, dir, StaticKey(key1)), testKey, canary)
	rotated := sealed(t, dir, StaticKey(key2), StaticKey(key1)) // the new key first, the old one after
	if data, _, err := rotated.Load(ctx, testKey, ""); err != nil || string(data) != canary {
		t.Fatalf("the old key's partition: %q, %v", data, err)
	}
	saveTo(t, rotated, testKey, canary)
	if _, _, err := sealed(t, dir, StaticKey(key2)).Load(ctx, testKey, ""); err != nil {
		t.Errorf("after a save the partition is sealed with the new key: %v", err)
	}
}

// countingSource fails, counting how often it is asked.
type countingSource struct{ asked atomic.Int32 }

func (*countingSource) Describe() string { return "a failing source" }
func (c *countingSource) Key(context.Context, bool) ([]byte, error) {
	c.asked.Add(1)
	return nil, keyring.ErrUnavailable
}

func TestWithoutAKeyNothingIsSavedAndSourcesAreNotAskedInALoop(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	src := &countingSource{}
	fs, _ := NewFileStore(t.TempDir())
	st, _ := NewEncryptedStore(fs, &EncryptionOptions{Keys: []KeySource{src, KeyFromEnv("ENTRAKIT_TEST_NO_SUCH_VAR")}, Logger: testLogger(&logs)})
	for range 5 {
		if _, err := st.Save(ctx, testKey, []byte(canary), ""); err == nil {
			t.Fatal("saved without a key")
		}
	}
	if n := src.asked.Load(); n != 1 {
		t.Errorf("the source was asked %d times in a minute, want once", n)
	}
	if !strings.Contains(logs.String(), "a failing source") || !strings.Contains(logs.String(), "ENTRAKIT_TEST_NO_SUCH_VAR") {
		t.Errorf("the sources' outcomes are not logged: %s", logs.String())
	}
	if keys, _ := fs.List(ctx); len(keys) != 0 {
		t.Errorf("files were written: %v", keys)
	}
}

func TestKeysFromTheEnvironmentAndFiles(t *testing.T) {
	enc := "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=" // key1
	t.Setenv("ENTRAKIT_TEST_KEY", enc)
	dir := t.TempDir()
	raw, text, short := filepath.Join(dir, "raw"), filepath.Join(dir, "text"), filepath.Join(dir, "short")
	_ = os.WriteFile(raw, key1, 0o600)
	_ = os.WriteFile(text, []byte(enc+"\n"), 0o600)
	_ = os.WriteFile(short, []byte("c2hvcnQ="), 0o600)
	for _, src := range []KeySource{KeyFromEnv("ENTRAKIT_TEST_KEY"), KeyFromFile(raw), KeyFromFile(text), StaticKey(key1)} {
		if k, err := src.Key(ctx, true); err != nil || !bytes.Equal(k, key1) {
			t.Errorf("%s: %v", src.Describe(), err)
		}
	}
	for _, src := range []KeySource{KeyFromFile(short), KeyFromFile(filepath.Join(dir, "missing")), KeyFromEnv("ENTRAKIT_TEST_NO_SUCH_VAR"), StaticKey([]byte("short"))} {
		if _, err := src.Key(ctx, true); err == nil || strings.Contains(err.Error(), "c2hvcnQ") {
			t.Errorf("%s: err = %v", src.Describe(), err)
		}
	}
}

// The OS keyring for real: a gnome-keyring on a private D-Bus.
func TestTheKeyringKeyIsMadeOnceAndSharedWithAnotherProcess(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	dir := t.TempDir()
	src := keyring.CacheKeyIn(&keyring.SecretService{Address: bus.Address}, "test-cache")
	saveTo(t, sealed(t, dir, src), testKey, canary)
	stored, err := (&keyring.SecretService{Address: bus.Address}).Lookup(ctx, keyring.CacheService, "test-cache")
	if err != nil || len(stored) != 44 {
		t.Fatalf("the key in the keyring: %d characters, %v", len(stored), err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=reader", "ENTRAKIT_CACHE_DIR="+dir, "ENTRAKIT_BUS="+bus.Address)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != canary {
		t.Errorf("another process read %q, %v", out, err)
	}
	again, _ := (&keyring.SecretService{Address: bus.Address}).Lookup(ctx, keyring.CacheService, "test-cache")
	if again != stored {
		t.Error("the key was made again")
	}
}

// readerHelper prints the test partition, opened with the keyring key on ENTRAKIT_BUS.
func readerHelper() int {
	fs, _ := NewFileStore(os.Getenv("ENTRAKIT_CACHE_DIR"))
	st, _ := NewEncryptedStore(fs, &EncryptionOptions{Keys: []KeySource{keyring.CacheKeyIn(&keyring.SecretService{Address: os.Getenv("ENTRAKIT_BUS")}, "test-cache")}})
	data, _, err := st.Load(context.Background(), testKey, "")
	if err != nil {
		os.Stdout.WriteString(err.Error())
		return 1
	}
	os.Stdout.Write(data)
	return 0
}

func TestALockedKeyringOrNoBusFallsToTheNextSourceAtOnce(t *testing.T) {
	t.Parallel()
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	bus.LockAll(t)
	dir := t.TempDir()
	for _, ss := range []*keyring.SecretService{
		{Address: bus.Address, Timeout: 0},
		{Address: "unix:path=/tmp/entrakit-no-such-bus"},
	} {
		var logs strings.Builder
		fs, _ := NewFileStore(dir)
		st, _ := NewEncryptedStore(fs, &EncryptionOptions{Keys: []KeySource{keyring.CacheKeyIn(ss, "c"), StaticKey(key2)}, Logger: testLogger(&logs)})
		saveTo(t, st, testKey, canary)
		if !strings.Contains(logs.String(), "unavailable") {
			t.Errorf("the keyring's failure is not logged: %s", logs.String())
		}
		if _, _, err := sealed(t, dir, StaticKey(key2)).Load(ctx, testKey, ""); err != nil {
			t.Errorf("the partition is not sealed with the next source's key: %v", err)
		}
	}
}

func testLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
