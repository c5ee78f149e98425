package redistest

import "syscall"

// procAttr has the kernel kill the server when the test process ends, however it ends (a
// timeout's panic, a SIGKILL), so that no redis-server outlives its test.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
