package blobtest

import (
	"os"
	"path/filepath"
	"syscall"
)

// dieWithParent makes the test server die with the test process, however
// that ends (a timeout or a signal included), without a TestMain.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// lockFolder marks dir as the folder of a live process: it holds dir/lock
// locked for as long as the process lives (the kernel drops the lock when
// it dies). The file is locked before it appears under its name, so no
// other process can find it unlocked while this one lives.
func lockFolder(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, ".lock-*")
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, "lock")); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// ownerGone returns dir's lock, now held by this process, when the process
// that locked it has ended; nil when it lives (or dir is no server folder
// or not yet one).
func ownerGone(dir string) *os.File {
	f, err := os.Open(filepath.Join(dir, "lock"))
	if err != nil {
		return nil
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil
	}
	return f
}
