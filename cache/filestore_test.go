package cache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const helperEnv = "ENTRAKIT_CACHE_HELPER"

func fileCache(t *testing.T, path string, logger *slog.Logger) *Cache {
	t.Helper()
	st, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	return newCache(t, &Options{Store: st, Logger: logger})
}

func TestFileStoreCreatesPrivateFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "cache.json")
	c := fileCache(t, path, nil)
	c.PutRefreshToken("env", "client", "acct", "rt-1")
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600, path + ".lock": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode(), want)
		}
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}
	d := fileCache(t, path, nil)
	if rt, _ := d.RefreshToken("env", "client", "acct"); rt != "rt-1" {
		t.Errorf("a new cache on the file reads %q", rt)
	}
}

func TestSavesMergeInsteadOfOverwriting(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cache.json")
	a := fileCache(t, path, nil)
	b := fileCache(t, path, nil) // loaded while the file was empty
	a.PutRefreshToken("env", "client", "alice", "rt-a")
	b.PutRefreshToken("env", "client", "bob", "rt-b")
	b.PutAccessToken(key("s"), AccessToken{Secret: "at-b", ExpiresOn: time.Now().Add(time.Hour), CachedAt: time.Now()})
	check := fileCache(t, path, nil)
	if rt, _ := check.RefreshToken("env", "client", "alice"); rt != "rt-a" {
		t.Errorf("bob's save lost alice's refresh token (%q)", rt)
	}
	if rt, _ := check.RefreshToken("env", "client", "bob"); rt != "rt-b" {
		t.Errorf("bob's refresh token missing (%q)", rt)
	}
	// A removal wins over the older copy another process still holds.
	_ = a.Locked(context.Background(), func() error { // as credentials do: reload, then evict
		if !a.RemoveRefreshToken("env", "client", "bob", "rt-b") {
			t.Error("bob's token was not seen after the reload")
		}
		return nil
	})
	b.PutRefreshToken("env", "client", "carol", "rt-c") // b still holds rt-b in memory
	check = fileCache(t, path, nil)
	if _, ok := check.RefreshToken("env", "client", "bob"); ok {
		t.Error("an evicted refresh token came back through another process's save")
	}
	if rt, _ := check.RefreshToken("env", "client", "carol"); rt != "rt-c" {
		t.Errorf("carol = %q", rt)
	}
	// A newer rotation wins over an older one.
	a.PutRefreshToken("env", "client", "alice", "rt-a2")
	if err := b.Locked(context.Background(), func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if rt, _ := b.RefreshToken("env", "client", "alice"); rt != "rt-a2" {
		t.Errorf("after a transaction b sees alice = %q, want the rotated token", rt)
	}
}

func TestBadFilesNeverBlockAndAreKeptUntilReplaced(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"corrupt":         "{\"version\":1,\"refresh_tokens\":[{\"secret\":\"SECRETCANARY\"",
		"truncated":       `{"version":1,"refresh_tokens":[{"environment":"e","client_id":"c","account":"a","secret":"SECRETCANARY","modified":"2026-01-01T00:00:00Z"}`,
		"foreign version": `{"version":7,"refresh_tokens":[{"secret":"SECRETCANARY"}]}`,
		"binary":          "\x00\x01\x02SECRETCANARY\xff",
		"a JSON array":    `["SECRETCANARY"]`,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "cache.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			c := fileCache(t, path, slog.New(slog.NewTextHandler(&logs, nil)))
			if a, r := c.Len(); a+r != 0 {
				t.Errorf("cache not empty: %d %d", a, r)
			}
			if !strings.Contains(logs.String(), "unusable") || strings.Contains(logs.String(), "SECRETCANARY") {
				t.Errorf("log = %q", logs.String())
			}
			if b, _ := os.ReadFile(path); string(b) != content {
				t.Error("the bad file was changed before a good state replaced it")
			}
			c.PutRefreshToken("e", "c", "a", "good")
			if d := fileCache(t, path, nil); func() string { s, _ := d.RefreshToken("e", "c", "a"); return s }() != "good" {
				t.Error("a good save did not replace the bad file")
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "cache.json")
		if err := os.Mkdir(path, 0o700); err != nil { // a directory where the file should be
			t.Fatal(err)
		}
		var logs strings.Builder
		c := fileCache(t, path, slog.New(slog.NewTextHandler(&logs, nil)))
		c.PutRefreshToken("e", "c", "a", "kept-in-memory")
		if rt, _ := c.RefreshToken("e", "c", "a"); rt != "kept-in-memory" || !strings.Contains(logs.String(), "failed") {
			t.Errorf("rt %q, log %q", rt, logs.String())
		}
	})
}

func TestLockExcludesAndHonoursTheContext(t *testing.T) {
	t.Parallel()
	st, _ := NewFileStore(filepath.Join(t.TempDir(), "c.json"))
	unlock, err := st.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := st.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("second lock: %v after %v", err, time.Since(start))
	}
	got := make(chan error, 1)
	go func() {
		u, err := st.Lock(context.Background())
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("the lock was taken while held")
	default:
	}
	unlock()
	if err := <-got; err != nil {
		t.Errorf("lock after release: %v", err)
	}
}

// writerHelper writes whole generations of a 20-account cache state until killed. It prints
// "ready" after its first save.
func writerHelper() int {
	st, err := NewFileStore(os.Getenv("ENTRAKIT_CACHE_PATH"))
	if err != nil {
		return 2
	}
	for gen := 0; ; gen++ {
		mem, _ := New(nil)
		for i := range 20 {
			mem.PutRefreshToken("env", "client", fmt.Sprint("acct-", i), fmt.Sprintf("gen-%d-rt-%d-%s", gen, i, strings.Repeat("x", 200)))
		}
		data, _ := mem.Marshal()
		unlock, err := st.Lock(context.Background())
		if err != nil {
			return 3
		}
		if err := st.Save(context.Background(), data); err != nil {
			return 4
		}
		unlock()
		if gen == 0 {
			fmt.Println("ready")
		}
	}
}

func TestKilledWriterNeverLeavesABrokenFile(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 50 processes")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cache.json")
	for i := range 50 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=writer", "ENTRAKIT_CACHE_PATH="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
			t.Fatalf("helper said %q", line)
		}
		time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()

		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		c, _ := New(nil)
		if err := c.Unmarshal(data); err != nil {
			t.Fatalf("kill %d: the file does not parse: %v", i, err)
		}
		gens := map[string]bool{}
		for j := range 20 {
			rt, ok := c.RefreshToken("env", "client", fmt.Sprint("acct-", j))
			if !ok {
				t.Fatalf("kill %d: account %d missing: a partial state", i, j)
			}
			gens[strings.SplitN(rt, "-rt-", 2)[0]] = true
		}
		if len(gens) != 1 {
			t.Fatalf("kill %d: generations mixed in one file: %v", i, gens)
		}
	}
}
