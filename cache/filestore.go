package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/entrakit/entrakit/internal/cachecore"
)

// MaxFileSize bounds a partition file read: a bigger file is unreadable. A partition holds one
// account's tokens, a few KiB.
const MaxFileSize = 4 << 20

// fileMagic starts every partition file; the version that follows it changes with every save,
// so that a process can tell whether its copy is current by reading one line.
const fileMagic = "entrakit-partition "

// FileStore keeps a Cache in a directory, one file per partition (PARTITION.json, with a
// PARTITION.lock beside it), so that a refresh reads and writes one account's file whatever the
// number of accounts stored. Several processes on one host may share the directory.
//
// Its guarantees:
//   - Privacy: the directory is created 0700 and must be owned by the current user and not
//     writable by group or others; files are created 0600, and a file that is not a regular
//     file owned by the current user with no group or other permissions is refused with an
//     error naming it. Symbolic links are never followed and FIFOs never block.
//   - Atomic saves: a new file is written under a random name (created exclusively), synced,
//     and renamed over the old one, and the directory is synced: a crash (even SIGKILL) leaves
//     the old file or the new one.
//   - Locking: each partition has an advisory lock (flock on Unix, LockFileEx on Windows) that
//     the Cache holds around every read-modify-write.
//
// On Windows a directory it creates gets an access control list of its own (full control for
// the current user and SYSTEM, inherited by the files, nobody else), and a directory it is
// given must be owned by the current user.
type FileStore struct {
	dir string
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a store in the directory dir. It creates nothing until it is first used.
// A file at dir left by an earlier entrakit (format version 1, one file for every account) is
// migrated into the directory on first use.
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("cache: NewFileStore needs a directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &FileStore{dir: abs}, nil
}

// Dir returns the store's directory.
func (s *FileStore) Dir() string { return s.dir }

// root opens the directory, creating it if needed, after checking that it is the user's own.
func (s *FileStore) root() (*os.Root, error) {
	if fi, err := os.Lstat(s.dir); err == nil && fi.Mode().IsRegular() {
		if err := s.migrateV1(); err != nil {
			return nil, err
		}
	}
	_, statErr := os.Stat(s.dir)
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache: creating the cache directory: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := restrictDir(s.dir); err != nil {
			return nil, err
		}
	}
	r, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, fmt.Errorf("cache: opening the cache directory: %w", err)
	}
	fi, err := r.Stat(".")
	if err == nil {
		err = checkDir(s.dir, fi)
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// openChecked opens name in r without following a symbolic link or blocking on a FIFO, and
// checks that it is a regular file private to the current user.
func (s *FileStore) openChecked(r *os.Root, name string, flag int) (*os.File, error) {
	f, err := r.OpenFile(name, flag|openNoFollow, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("cache: opening %s: %w (a symbolic link or a special file is refused)", filepath.Join(s.dir, name), err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkFile(filepath.Join(s.dir, name), fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func checkKey(key string) error {
	if !cachecore.ValidKey(key) {
		return fmt.Errorf("cache: %q is not a partition key", key)
	}
	return nil
}

// Lock takes the partition's advisory lock, polling until ctx ends.
func (s *FileStore) Lock(ctx context.Context, key string) (func(), error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	r, err := s.root()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := s.openChecked(r, key+".lock", os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	delay := time.Millisecond
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("cache: locking %s: %w", f.Name(), err)
		}
		if ok {
			return func() {
				_ = unlock(f)
				_ = f.Close()
			}, nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("cache: waiting for the lock on %s: %w", filepath.Join(s.dir, key+".lock"), ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 20*time.Millisecond)
	}
}

// Load reads a partition file; a missing file is no data and no error.
func (s *FileStore) Load(ctx context.Context, key, since string) ([]byte, string, error) {
	if err := checkKey(key); err != nil {
		return nil, "", err
	}
	r, err := s.root()
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	data, version, err := s.read(r, key, since)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	return data, version, err
}

// read returns a partition file's blob and version; with since equal to the file's version it
// stops after the first line.
func (s *FileStore) read(r *os.Root, key, since string) ([]byte, string, error) {
	f, err := s.openChecked(r, key+".json", os.O_RDONLY)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("cache: reading %s: %w", f.Name(), err)
	}
	if len(b) > MaxFileSize {
		return nil, "", fmt.Errorf("%w: %s is larger than %d bytes", ErrUnreadable, f.Name(), MaxFileSize)
	}
	header, blob, ok := bytes.Cut(b, []byte("\n"))
	version, isPartition := strings.CutPrefix(string(header), fileMagic)
	if !ok || !isPartition || len(version) != 32 {
		return nil, "", fmt.Errorf("%w: %s is not an entrakit partition file", ErrUnreadable, f.Name())
	}
	if version == since {
		return nil, version, nil
	}
	return blob, version, nil
}

// Save replaces a partition file atomically and returns its new version. It refuses with
// ErrConflict when the file's version is not prev (someone wrote without the lock).
func (s *FileStore) Save(ctx context.Context, key string, data []byte, prev string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	r, err := s.root()
	if err != nil {
		return "", err
	}
	defer r.Close()
	_, cur, err := s.read(r, key, prev)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if prev != "" { // removed since it was loaded (RemoveAccount): do not bring it back
			return "", fmt.Errorf("%w: %s was removed", ErrConflict, filepath.Join(s.dir, key+".json"))
		}
	case errors.Is(err, ErrUnreadable): // a bad file is replaced by a good one
	case err != nil:
		return "", err
	case cur != prev:
		return "", fmt.Errorf("%w: %s", ErrConflict, filepath.Join(s.dir, key+".json"))
	}
	var v [16]byte
	_, _ = rand.Read(v[:])
	version := hex.EncodeToString(v[:])
	tmp := key + "." + version[:16] + ".tmp"
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|openNoFollow, 0o600)
	if err != nil {
		return "", fmt.Errorf("cache: creating a temporary file in %s: %w", s.dir, err)
	}
	_, werr := io.WriteString(f, fileMagic+version+"\n")
	_, werr2 := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, werr2, serr, cerr); err != nil {
		_ = r.Remove(tmp)
		return "", fmt.Errorf("cache: writing %s: %w", filepath.Join(s.dir, tmp), err)
	}
	if err := r.Rename(tmp, key+".json"); err != nil {
		_ = r.Remove(tmp)
		return "", fmt.Errorf("cache: replacing %s: %w", filepath.Join(s.dir, key+".json"), err)
	}
	syncDir(r)
	return version, nil
}

// Delete removes a partition file.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	r, err := s.root()
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Remove(key + ".json"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cache: removing %s: %w", filepath.Join(s.dir, key+".json"), err)
	}
	syncDir(r)
	return nil
}

// List returns the keys of the partition files.
func (s *FileStore) List(ctx context.Context) ([]string, error) {
	r, err := s.root()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	d, err := r.Open(".")
	if err != nil {
		return nil, fmt.Errorf("cache: listing %s: %w", s.dir, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("cache: listing %s: %w", s.dir, err)
	}
	var keys []string
	for _, n := range names {
		if k, ok := strings.CutSuffix(n, ".json"); ok && cachecore.ValidKey(k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// syncDir makes a rename or removal durable (a no-op where directories cannot be synced).
func syncDir(r *os.Root) {
	if d, err := r.Open("."); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// migrateV1 turns the single file of entrakit's format version 1, found where the directory
// belongs, into partition files: the file is moved to DIR.v1, its accounts are saved as
// partitions, and it is removed. A file that is not a version-1 cache stays at DIR.v1.
func (s *FileStore) migrateV1() error {
	f, err := os.OpenFile(s.dir, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		return fmt.Errorf("cache: opening the version-1 cache file %s: %w", s.dir, err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkFile(s.dir, fi)
	}
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(f, 64<<20))
	}
	f.Close()
	if err != nil {
		return err
	}
	old := s.dir + ".v1"
	if err := os.Rename(s.dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cache: moving the version-1 cache file aside: %w", err)
	}
	parts, err := cachecore.FromV1(data, time.Now())
	if err != nil {
		return nil // not ours to read: it stays at DIR.v1
	}
	ctx, cancel := context.WithTimeout(context.Background(), cachecore.DefaultLockWait)
	defer cancel()
	var errs []error
	for key, blob := range parts {
		unlock, err := s.Lock(ctx, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, _, err := s.Load(ctx, key, ""); err == nil { // another process migrated it first
			_, err = s.Save(ctx, key, blob, "")
			if errors.Is(err, ErrConflict) {
				err = nil
			}
			errs = append(errs, err)
		}
		unlock()
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_ = os.Remove(old)
	return nil
}
