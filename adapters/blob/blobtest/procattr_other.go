//go:build !linux

package blobtest

import (
	"os"
	"syscall"
)

// dieWithParent: only Linux can tie a child's life to its parent's; on
// other systems the test server lives on after the test process unless a
// TestMain calls StopS3.
func dieWithParent() *syscall.SysProcAttr { return nil }

// lockFolder: no lock on other systems, so no folder is ever found stale.
func lockFolder(string) (*os.File, error) { return nil, nil }

// ownerGone: without locks, a folder's process is never known to be gone.
func ownerGone(string) *os.File { return nil }
