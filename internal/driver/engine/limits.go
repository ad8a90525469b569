package engine

import (
	"golang.org/x/sys/unix"
)

const (
	rlimitNofile = unix.RLIMIT_NOFILE
	rlimitNproc  = unix.RLIMIT_NPROC
)

// prlimit reads another process's soft and hard limit of a resource.
func prlimit(pid, resource int) (soft, hard int64, err error) {
	var old unix.Rlimit
	if err := unix.Prlimit(pid, resource, nil, &old); err != nil {
		return 0, 0, err
	}
	return clampLimit(old.Cur), clampLimit(old.Max), nil
}

// clampLimit turns an rlimit value into the engine API's int64, where
// unlimited is -1.
func clampLimit(v uint64) int64 {
	if v == unix.RLIM_INFINITY || v > 1<<62 {
		return -1
	}
	return int64(v)
}
