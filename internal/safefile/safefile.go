// Package safefile reads files that something else may have planted or replaced: a FIFO or a
// device at the path is refused at once instead of blocking, and a file's size is bounded.
// Package vscode reads VS Code's settings and auth record with it, package cache a key file.
//
// # Security considerations
//
// It follows symbolic links (dotfiles and Kubernetes secrets are links); what it guards
// against is a read that never ends, not a file another user owns. Its errors name the path,
// never the content.
package safefile

import (
	"fmt"
	"io"
	"os"
)

// ReadRegular reads a file that must be a regular file, through a size limit, without ever
// blocking: a FIFO or a device at the path (planted, or a mistake) is an error at once, not a
// hang. A symbolic link to a regular file is fine (dotfiles are often links). A file larger
// than max is an error; a missing file is an error wrapping fs.ErrNotExist.
func ReadRegular(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlocking, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%v)", path, fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}
