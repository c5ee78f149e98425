//go:build unix

package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The attacks of another local user that need a second account. Run as root (as .ci/run does),
// the tests give files and directories to another user with chown; otherwise they skip.
const otherUser = 65534 // nobody

func asRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give files to another user (.ci/run runs these as root)")
	}
}

func TestAnotherUsersFilesAreRefused(t *testing.T) {
	asRoot(t)
	t.Parallel()
	cases := []struct {
		name  string
		plant func(t *testing.T, dir string)
		call  func(st *FileStore) error
		want  string
	}{
		{"a cache directory another user made", func(t *testing.T, dir string) {
			chown(t, dir)
		}, func(st *FileStore) error { _, err := st.Lock(ctx, testKey); return err }, "belongs to user 65534"},
		{"a partition file of another user's, with tokens planted in it", func(t *testing.T, dir string) {
			p := filepath.Join(dir, testKey+".json")
			if err := os.WriteFile(p, []byte(fileMagic+strings.Repeat("a", 32)+"\n{\"planted\":true}"), 0o600); err != nil {
				t.Fatal(err)
			}
			chown(t, p)
		}, func(st *FileStore) error { _, _, err := st.Load(ctx, testKey, ""); return err }, "belongs to user 65534"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, dir := newStore(t)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tc.plant(t, dir)
			if err := tc.call(st); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("err = %v, want one naming %s and saying %q", err, dir, tc.want)
			}
		})
	}
}

// A lock file another user holds does not stall the victim: it is refused at once.
func TestALockHeldByAnotherUserIsRefusedAtOnce(t *testing.T) {
	asRoot(t)
	t.Parallel()
	st, dir := newStore(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, testKey+".lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chown(t, p)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil { // the other user holds it
		t.Fatal(err)
	}
	// Were the lock waited for, this would end with the minute-long deadline instead.
	c, cancel := contextWithTimeout(time.Minute)
	defer cancel()
	_, err = st.Lock(c, testKey)
	if err == nil || !strings.Contains(err.Error(), "belongs to user 65534") || errors.Is(err, c.Err()) {
		t.Errorf("err = %v, want a refusal naming the owner", err)
	}
}

func chown(t *testing.T, path string) {
	t.Helper()
	if err := os.Chown(path, otherUser, otherUser); err != nil {
		t.Fatal(err)
	}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
