//go:build !unix && !windows

package cache

import (
	"errors"
	"os"
)

func tryLock(*os.File) (bool, error) {
	return false, errors.New("file locking is not supported on this platform")
}

func unlock(*os.File) error { return nil }
