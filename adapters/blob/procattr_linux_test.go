package blob_test

import "syscall"

// dieWithParent makes the test server die with the test binary, even
// when a timeout or a signal ends it before TestMain can stop it.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
