// Package syscalls is the syscall workload: what a simple system call costs
// inside a sandbox, where isolation technologies differ most. A runc
// container's calls go straight to the host kernel; gVisor intercepts each
// one (ptrace: two context switches through the host; systrap: a signal;
// KVM: a VM exit) and serves it in its user-space kernel; a VM's guest
// kernel serves them itself, at native cost unless the call leaves the
// guest.
//
// Each trial runs `agent syscalls` once in a fresh sandbox (as the
// sandbox's command, not under `agent exec`): from one locked
// thread, the agent makes raw system calls (no Go scheduler hand-off around
// them) in a tight loop: getpid(2); pread64(2) of 64 bytes at offset 0 of
// a file (the agent's own executable, the same file in every sandbox and
// on the host, in the page cache after the first call); and openat(2)
// read-only of that file followed by close(2). Each operation gets a short
// untimed round, then `rounds` timed rounds of `calls` calls on the
// sandbox's monotonic clock; the trial's figure for the operation is the
// median round's time divided by the calls, in seconds per call. The
// loop's own cost (a few ns) is included and the same everywhere.
//
// The agent's report is parsed as hostile input: one JSON line, every
// operation once, finite positive times whose median matches the rounds.
package syscalls
