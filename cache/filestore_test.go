package cache

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/entrakit/entrakit/internal/cachecore"
)

const helperEnv = "ENTRAKIT_CACHE_HELPER"

var ctx = context.Background()

// testKey is a partition key (its shape is checked).
var testKey = cachecore.Key(cachecore.PartitionID{Environment: "login.microsoftonline.com", ClientID: "c", HomeAccountID: "u.t"})

func newStore(t *testing.T) (*FileStore, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "new", "tokens")
	st, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}

func save(t *testing.T, st *FileStore, key, data, prev string) string {
	t.Helper()
	unlock, err := st.Lock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	v, err := st.Save(ctx, key, []byte(data), prev)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFileStoreWritesPrivateFilesAtomically(t *testing.T) {
	t.Parallel()
	st, dir := newStore(t)
	v1 := save(t, st, testKey, `{"a":1}`, "")
	want := map[string]os.FileMode{dir: 0o700 | fs.ModeDir, filepath.Join(dir, testKey+".json"): 0o600, filepath.Join(dir, testKey+".lock"): 0o600}
	if runtime.GOOS == "windows" {
		want = nil // modes are ACLs there
	}
	for p, mode := range want {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s mode %v, want %v", p, fi.Mode(), mode)
		}
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmps) != 0 {
		t.Errorf("temporary files left behind: %v", tmps)
	}
	data, v, err := st.Load(ctx, testKey, "")
	if err != nil || string(data) != `{"a":1}` || v != v1 {
		t.Fatalf("Load = %q, %q, %v", data, v, err)
	}
	if data, v, err := st.Load(ctx, testKey, v1); data != nil || v != v1 || err != nil {
		t.Errorf("Load since the current version = %q, %q, %v; want no data and the same version", data, v, err)
	}
	v2 := save(t, st, testKey, `{"a":2}`, v1)
	if v2 == v1 {
		t.Error("a save kept the version")
	}
	if keys, err := st.List(ctx); err != nil || len(keys) != 1 || keys[0] != testKey {
		t.Errorf("List = %v, %v", keys, err)
	}
	if err := st.Delete(ctx, testKey); err != nil {
		t.Fatal(err)
	}
	if data, v, err := st.Load(ctx, testKey, v2); data != nil || v != "" || err != nil {
		t.Errorf("Load after Delete = %q, %q, %v", data, v, err)
	}
}

func TestASaveFromAStaleVersionIsRefused(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	v1 := save(t, st, testKey, `{"a":1}`, "")
	save(t, st, testKey, `{"a":2}`, v1)
	if _, err := st.Save(ctx, testKey, []byte(`{"a":"stale"}`), v1); !errors.Is(err, ErrConflict) {
		t.Errorf("save over a newer version: %v, want ErrConflict", err)
	}
	_ = st.Delete(ctx, testKey)
	if _, err := st.Save(ctx, testKey, []byte(`{"a":"back"}`), v1); !errors.Is(err, ErrConflict) {
		t.Errorf("save of a removed partition: %v, want ErrConflict (a removal must not come back)", err)
	}
}

func TestLockExcludesAndHonoursTheContext(t *testing.T) {
	t.Parallel()
	st, dir := newStore(t)
	other, _ := NewFileStore(dir) // another process's store on the same directory
	unlock, err := st.Lock(ctx, testKey)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := other.Lock(short, testKey); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second lock: %v, want the context's deadline", err)
	}
	otherKey := cachecore.Key(cachecore.PartitionID{Environment: "e", ClientID: "c", HomeAccountID: "someone"})
	if u, err := other.Lock(short, otherKey); err != nil {
		t.Errorf("another partition's lock: %v", err)
	} else {
		u()
	}
	unlock()
	if u, err := other.Lock(ctx, testKey); err != nil {
		t.Errorf("lock after release: %v", err)
	} else {
		u()
	}
}

func TestUnusableFilesAreUnreadableNotFatal(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"no header":      []byte(`{"version":2}`),
		"binary":         []byte("\x00\x01\x02SECRETCANARY\xff"),
		"a short header": []byte(fileMagic + "abc\n{}"),
		"too large":      append([]byte(fileMagic+strings.Repeat("a", 32)+"\n"), bytes.Repeat([]byte(" "), MaxFileSize)...),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, dir := newStore(t)
			save(t, st, testKey, "{}", "")
			if err := os.WriteFile(filepath.Join(dir, testKey+".json"), content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := st.Load(ctx, testKey, "")
			if !errors.Is(err, ErrUnreadable) || strings.Contains(err.Error(), "SECRETCANARY") {
				t.Errorf("Load = %v, want ErrUnreadable quoting nothing", err)
			}
			save(t, st, testKey, `{"good":1}`, "") // a good save replaces it
		})
	}
}

func TestAVersionOneFileIsMigrated(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tokens.json") // where a version-1 file was kept
	now := time.Now().UTC()
	v1 := fmt.Sprintf(`{"version":1,"access_tokens":[],"refresh_tokens":[{"environment":"login.microsoftonline.com","client_id":"c","account":"u.t","secret":"rt"}],`+
		`"accounts":[{"HomeAccountID":"u.t","Environment":"login.microsoftonline.com","TenantID":"t","Username":"alice@contoso.example"}],"written":%q}`, now)
	if err := os.WriteFile(dir, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _ := NewFileStore(dir)
	c, _ := New(&Options{Store: st})
	if got := c.Accounts(); len(got) != 1 || got[0].Username != "alice@contoso.example" {
		t.Fatalf("accounts after migration: %v", got)
	}
	if _, err := os.Stat(dir + ".v1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the version-1 file was not removed after migration: %v", err)
	}
}

func TestFormatPrintsCountsOnly(t *testing.T) {
	t.Parallel()
	c, _ := New(nil)
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, c); !strings.HasPrefix(s, "cache.Cache{partitions: 0") {
			t.Errorf("%s: %s", f, s)
		}
	}
}

// writerHelper saves generations of a partition until killed; it prints "ready" after its
// first save.
func writerHelper() int {
	st, err := NewFileStore(os.Getenv("ENTRAKIT_CACHE_DIR"))
	if err != nil {
		return 2
	}
	for gen := 0; ; gen++ {
		unlock, err := st.Lock(ctx, testKey)
		if err != nil {
			return 3
		}
		_, prev, err := st.Load(ctx, testKey, "")
		if err != nil {
			return 5
		}
		data := fmt.Sprintf(`{"generation":%d,"padding":%q}`, gen, strings.Repeat("x", 4000))
		if _, err := st.Save(ctx, testKey, []byte(data), prev); err != nil {
			return 4
		}
		unlock()
		if gen == 0 {
			fmt.Println("ready")
		}
	}
}

func TestAKilledWriterNeverLeavesABrokenFile(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	t.Parallel()
	st, dir := newStore(t)
	for i := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=writer", "ENTRAKIT_CACHE_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(out)
		if line, _ := r.ReadString('\n'); line != "ready\n" {
			t.Fatalf("helper said %q", line)
		}
		for range rand.IntN(2000) { // let it write for a while (without sleeping)
			_, _, _ = st.Load(ctx, testKey, "")
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		data, _, err := st.Load(ctx, testKey, "")
		if err != nil || !bytes.HasPrefix(data, []byte(`{"generation":`)) || !bytes.HasSuffix(data, []byte(`"}`)) {
			t.Fatalf("kill %d: the file is broken: %v %.40q", i, err, data)
		}
		u, err := st.Lock(ctx, testKey) // the lock died with its holder
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		u()
	}
}
