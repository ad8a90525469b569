package driverkit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcStartTime returns the start time of a process in clock ticks since
// boot (field 22 of proc(5) stat), which together with its pid names it
// uniquely; ok is false when the process does not exist or is a zombie.
func ProcStartTime(pid int) (ticks uint64, ok bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command may hold spaces and parentheses: fields start after the
	// last ')'. There, field 1 is the state and field 20 the start time
	// (fields 3 and 22 of proc(5)).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, false
	}
	return t, true
}

// Alive reports whether pid runs (and is not a zombie).
func Alive(pid int) bool {
	_, ok := ProcStartTime(pid)
	return ok
}

// Identity names a process across pid reuse: its pid and its start time in
// clock ticks since boot.
type Identity struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// Self returns this process's identity.
func Self() (Identity, error) {
	pid := os.Getpid()
	start, ok := ProcStartTime(pid)
	if !ok {
		return Identity{}, errors.New("cannot read this process's start time from /proc")
	}
	return Identity{PID: pid, Start: start}, nil
}

// Alive reports whether the process still runs: the pid exists, is not a
// zombie, and started when the identity says (not a later process that got
// the same pid).
func (p Identity) Alive() bool {
	start, ok := ProcStartTime(p.PID)
	return ok && start == p.Start
}

// String is "PID:START", the form ParseIdentity reads back.
func (p Identity) String() string { return fmt.Sprintf("%d:%d", p.PID, p.Start) }

// ParseIdentity reads the String form back.
func ParseIdentity(s string) (Identity, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return Identity{}, fmt.Errorf("process identity %q: want PID:START", s)
	}
	pid, err := strconv.Atoi(a)
	if err != nil || pid <= 0 {
		return Identity{}, fmt.Errorf("process identity %q: bad pid", s)
	}
	start, err := strconv.ParseUint(b, 10, 64)
	if err != nil {
		return Identity{}, fmt.Errorf("process identity %q: bad start time", s)
	}
	return Identity{PID: pid, Start: start}, nil
}

// Proc is a process found by scanning /proc.
type Proc struct {
	PID int
	// Args are the arguments of its command line: none for a zombie or a
	// kernel thread.
	Args []string
	// Cmdline is the command line with its arguments joined by spaces.
	Cmdline string
	// Cwd is its working directory as the kernel names it (with
	// " (deleted)" when removed); "" when it cannot be read.
	Cwd string
}

// ScanProcs returns the processes, other than this one, for which keep
// returns true. Processes that exit during the scan may be missed.
func ScanProcs(keep func(Proc) bool) []Proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		p := Proc{PID: pid}
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && len(b) > 0 {
			p.Args = strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
			p.Cmdline = string(bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), " "))
		}
		p.Cwd, _ = os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

// ProcsMentioning returns the processes (other than this one) whose command
// line mentions id, as mentions decides (MentionsID or ContainsID), or whose
// working directory is dir or below it (dir "" matches none). Zombies and
// kernel threads have no command line and are not returned.
func ProcsMentioning(id, dir string, mentions func(cmdline, id string) bool) []Proc {
	return ScanProcs(func(p Proc) bool {
		if len(p.Args) == 0 {
			return false
		}
		return mentions(p.Cmdline, id) || dir != "" && within(p.Cwd, dir)
	})
}

// isIDByte reports whether c may be part of a sandbox id.
func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// MentionsID reports whether s holds id as a whole word: not as part of a
// longer id ("isobench-a1" is not mentioned by "isobench-a10"). An empty id
// is mentioned nowhere.
func MentionsID(s, id string) bool {
	if id == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(s[i:], id)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(id)
		if (start == 0 || !isIDByte(s[start-1])) && (end == len(s) || !isIDByte(s[end])) {
			return true
		}
		i = start + 1
	}
}

// ContainsID reports whether s contains id anywhere, also inside a longer
// word (an LXC monitor's or an Incus container's name derived from it). An
// empty id is contained nowhere.
func ContainsID(s, id string) bool {
	return id != "" && strings.Contains(s, id)
}
