package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// MaxFileSize bounds the cache file read: a bigger file is treated as unreadable.
const MaxFileSize = 64 << 20

// FileStore keeps the cache in one file that several processes can share. Writes are atomic (a
// temporary file, fsync, rename), the file is created 0600 in a 0700 directory, and
// read-modify-write is guarded by an advisory lock on PATH.lock (flock on Unix, LockFileEx on
// Windows).
type FileStore struct {
	path string
}

var _ LockingStore = (*FileStore)(nil)

// NewFileStore returns a store at path. It creates nothing until the first save or lock.
func NewFileStore(path string) (*FileStore, error) {
	if path == "" {
		return nil, errors.New("cache: NewFileStore needs a path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &FileStore{path: abs}, nil
}

// Path returns the file's absolute path.
func (s *FileStore) Path() string { return s.path }

// Load reads the file; a missing file is no error and no data.
func (s *FileStore) Load(ctx context.Context) ([]byte, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cache: opening the cache file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cache: reading the cache file: %w", err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%w: the file is larger than %d bytes", ErrUnreadable, MaxFileSize)
	}
	return b, nil
}

// Save replaces the file atomically: write PATH.tmp (0600), fsync it, rename it over PATH, and
// fsync the directory. A crash at any point leaves either the old file or the new one. Call it
// holding the lock (Cache does) so that writers do not share the temporary file.
func (s *FileStore) Save(ctx context.Context, data []byte) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cache: creating the cache directory: %w", err)
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cache: creating the temporary file: %w", err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cache: writing the temporary file: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cache: replacing the cache file: %w", err)
	}
	syncDir(dir)
	return nil
}

// Lock takes the exclusive advisory lock on PATH.lock, polling until ctx ends (at most 30 s
// when ctx has no deadline), so a stuck process can never block token acquisition for ever.
func (s *FileStore) Lock(ctx context.Context) (func(), error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return nil, fmt.Errorf("cache: creating the cache directory: %w", err)
	}
	f, err := os.OpenFile(s.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cache: opening the lock file: %w", err)
	}
	delay := time.Millisecond
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("cache: locking: %w", err)
		}
		if ok {
			return func() {
				_ = unlock(f)
				_ = f.Close()
			}, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("cache: waiting for the lock on %s: %w", s.path, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}
