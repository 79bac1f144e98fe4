//go:build !linux

package blob_test

import "syscall"

// dieWithParent: only Linux can tie a child's life to its parent's; on
// other systems TestMain stops the test server.
func dieWithParent() *syscall.SysProcAttr { return nil }
