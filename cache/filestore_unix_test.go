//go:build unix

package cache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The attacks of another local user that need no second account: a symbolic link or a FIFO
// where a file belongs, an endless device, a shared directory, files others can read.
func TestHostileFilesAreRefusedWithoutHanging(t *testing.T) {
	t.Parallel()
	target := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(target, []byte("victim's own file"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		plant func(dir string) error
		call  func(st *FileStore) error
		want  string
	}{
		{"a symbolic link at the partition file", func(dir string) error { return os.Symlink(target, filepath.Join(dir, testKey+".json")) },
			func(st *FileStore) error { _, _, err := st.Load(ctx, testKey, ""); return err }, "symbolic link"},
		{"a symbolic link to /dev/zero", func(dir string) error { return os.Symlink("/dev/zero", filepath.Join(dir, testKey+".json")) },
			func(st *FileStore) error { _, _, err := st.Load(ctx, testKey, ""); return err }, "symbolic link"},
		{"a FIFO at the partition file", func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, testKey+".json"), 0o600) },
			func(st *FileStore) error { _, _, err := st.Load(ctx, testKey, ""); return err }, "not a regular file"},
		{"a FIFO at the lock file", func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, testKey+".lock"), 0o600) },
			func(st *FileStore) error { _, err := st.Lock(ctx, testKey); return err }, "not a regular file"},
		{"a symbolic link at the lock file", func(dir string) error { return os.Symlink(target, filepath.Join(dir, testKey+".lock")) },
			func(st *FileStore) error { _, err := st.Lock(ctx, testKey); return err }, "symbolic link"},
		{"a file others can read", func(dir string) error { return os.WriteFile(filepath.Join(dir, testKey+".json"), nil, 0o644) },
			func(st *FileStore) error { _, _, err := st.Load(ctx, testKey, ""); return err }, "chmod 600"},
		{"a directory others can write", func(dir string) error { return os.Chmod(dir, 0o777) },
			func(st *FileStore) error { _, err := st.Lock(ctx, testKey); return err }, "chmod 700"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, dir := newStore(t)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := tc.plant(dir); err != nil {
				t.Fatal(err)
			}
			err := tc.call(st)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("err = %v, want one naming %s and saying %q", err, dir, tc.want)
			}
			if b, _ := os.ReadFile(target); string(b) != "victim's own file" {
				t.Error("the link's target was changed")
			}
		})
	}
}

// Temporary files are made under random names, exclusively: a file another user placed where a
// temporary file could be (to read the tokens written into it, or to redirect the write through
// a symbolic link) is never opened.
func TestPlantedTemporaryFilesAreNeverUsed(t *testing.T) {
	t.Parallel()
	st, dir := newStore(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	_ = os.WriteFile(victim, []byte("victim's own file"), 0o600)
	planted := map[string]bool{filepath.Join(dir, testKey+".json.tmp"): false, filepath.Join(dir, testKey+".tmp"): false}
	for p := range planted {
		_ = os.WriteFile(p, nil, 0o666)
	}
	link := filepath.Join(dir, testKey+".link.tmp")
	_ = os.Symlink(victim, link)
	for range 20 {
		save(t, st, testKey, `{"refresh_token":"SECRETCANARY"}`, "")
		_ = st.Delete(ctx, testKey)
	}
	for p := range planted {
		if b, _ := os.ReadFile(p); len(b) != 0 {
			t.Errorf("%s was written to", p)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "victim's own file" {
		t.Error("a write went through a planted symbolic link")
	}
}

// A key file that is a FIFO (planted, or a mistake) fails at once: the read never waits for a
// writer.
func TestAKeyFileThatIsAFIFOFailsAtOnce(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "key")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := KeyFromFile(p).Key(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a FIFO key file: %v", err)
	}
}
