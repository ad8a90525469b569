//go:build !amd64

package vmm

// TSCKHz is 0 where there is no x86 time-stamp counter.
func TSCKHz() int64 { return 0 }
