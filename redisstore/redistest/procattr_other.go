//go:build !linux

package redistest

import "syscall"

// procAttr is nil where the kernel cannot tie the server's life to the test's: Stop, run by
// the test's cleanup, ends it.
func procAttr() *syscall.SysProcAttr { return nil }
