package kube

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Owner names the isobench process that made something in a cluster: the
// host it ran on, its pid there, and the process's start time (in clock
// ticks since boot, from /proc/PID/stat), so that a pid reused by another
// process is not taken for the owner.
type Owner struct {
	Host  string
	PID   int
	Start uint64
}

// IsZero reports whether o names no process.
func (o Owner) IsZero() bool { return o.Host == "" && o.PID == 0 }

// String writes o as HOST/PID/START.
func (o Owner) String() string { return fmt.Sprintf("%s/%d/%d", o.Host, o.PID, o.Start) }

// ParseOwner reads what String wrote.
func ParseOwner(s string) (Owner, error) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return Owner{}, fmt.Errorf("owner %q: want HOST/PID/START", s)
	}
	j := strings.LastIndexByte(s[:i], '/')
	if j <= 0 {
		return Owner{}, fmt.Errorf("owner %q: want HOST/PID/START", s)
	}
	pid, err := strconv.Atoi(s[j+1 : i])
	if err != nil || pid <= 0 {
		return Owner{}, fmt.Errorf("owner %q: pid %q is not a positive number", s, s[j+1:i])
	}
	start, err := strconv.ParseUint(s[i+1:], 10, 64)
	if err != nil {
		return Owner{}, fmt.Errorf("owner %q: start time %q is not a number", s, s[i+1:])
	}
	return Owner{Host: s[:j], PID: pid, Start: start}, nil
}

// Self returns the Owner of the calling process.
func Self() (Owner, error) {
	host, err := os.Hostname()
	if err != nil {
		return Owner{}, fmt.Errorf("reading the host name: %w", err)
	}
	pid := os.Getpid()
	start, ok := procStartTime(pid)
	if !ok {
		return Owner{}, fmt.Errorf("reading the start time of process %d from /proc", pid)
	}
	return Owner{Host: host, PID: pid, Start: start}, nil
}

// Gone reports whether the owner is known to no longer run: it ran on host
// (this machine) and its pid now names no process, or another one. An
// owner on another host is never known to be gone.
func (o Owner) Gone(host string) bool {
	if o.Host != host {
		return false
	}
	start, ok := procStartTime(o.PID)
	return !ok || start != o.Start
}

// procStartTime reads a process's start time (field 22 of /proc/PID/stat);
// a process that ended and was not yet reaped (a zombie) has none.
func procStartTime(pid int) (uint64, bool) {
	state, start, ok := procStat(pid)
	if !ok || state == "Z" || state == "X" {
		return 0, false
	}
	return start, true
}

// procStat reads a process's state and start time (fields 3 and 22 of
// /proc/PID/stat).
func procStat(pid int) (state string, start uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	// The command name (field 2) is in parentheses and may hold anything.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return "", 0, false
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	return f[0], t, err == nil
}
