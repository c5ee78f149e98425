//go:build !unix && !windows

package cache

import (
	"fmt"
	"io/fs"
)

// openNoFollow has no equivalent flag here; the checks below refuse what is not a regular file.
const openNoFollow = 0

func restrictDir(string) error { return nil }

func checkDir(path string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("cache: %s is not a directory", path)
	}
	return nil
}

func checkFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("cache: %s is not a regular file (%v); remove it", path, fi.Mode().Type())
	}
	return nil
}
