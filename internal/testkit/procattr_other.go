//go:build !linux

package testkit

import "syscall"

// ProcAttr is nil where the kernel cannot tie a helper's life to the test's: the test's
// cleanup ends it.
func ProcAttr() *syscall.SysProcAttr { return nil }
