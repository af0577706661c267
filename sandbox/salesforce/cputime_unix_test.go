//go:build unix

package salesforce_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) this process has used. Benchmarks report CPU
// per request because wall-clock throughput on a shared machine says more about the neighbours.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
