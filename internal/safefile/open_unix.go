//go:build unix

package safefile

import "syscall"

// openNonBlocking: opening a FIFO must not wait for a writer (reads of regular files ignore it).
const openNonBlocking = syscall.O_NONBLOCK
