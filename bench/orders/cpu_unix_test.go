//go:build unix

package orders_test

import (
	"syscall"
	"time"
)

// processCPU is the user and system CPU this process has used: the
// client's own cost, whatever the database spends.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
