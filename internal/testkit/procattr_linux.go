package testkit

import "syscall"

// ProcAttr has the kernel kill a helper process a test starts (a bus, a keyring, a browser)
// when the test process ends, however it ends (a timeout's panic, a SIGKILL), so that none
// outlives its test.
func ProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
