//go:build unix

package cache

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openNoFollow: never follow a symbolic link in the last component, and never block opening a
// FIFO (reads of regular files ignore O_NONBLOCK).
const openNoFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// checkDir: the cache directory must be the current user's and writable by no one else, or
// another user could replace its files.
func checkDir(path string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("cache: %s is not a directory", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("cache: the cache directory %s belongs to user %d, not to this user (%d): use a directory of your own, "+
			"such as one under os.UserCacheDir()", path, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("cache: the cache directory %s is writable by other users (mode %v): run chmod 700 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}

// checkFile: a cache file must be a regular file of the current user's, private to it.
func checkFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("cache: %s is not a regular file (%v); remove it", path, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("cache: %s belongs to user %d, not to this user (%d); remove it", path, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("cache: %s can be read or written by other users (mode %v): run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}

// restrictDir: the directory was created 0700, which is what it needs.
func restrictDir(string) error { return nil }
