package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// This file holds what the engine drivers read from the host itself: the
// process table (who owns what, what a container left running) and the
// mount table (cgroup layout, mounts a container left).

// procIdentity names a process across pid reuse: its pid and its start time
// in clock ticks since boot.
type procIdentity struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// self returns this process's identity.
func self() (procIdentity, error) {
	pid := os.Getpid()
	start, ok := procStartTime(pid)
	if !ok {
		return procIdentity{}, errors.New("cannot read this process's start time from /proc")
	}
	return procIdentity{PID: pid, Start: start}, nil
}

// alive reports whether the process still runs (a zombie does not).
func (p procIdentity) alive() bool {
	if p.PID <= 0 {
		return false
	}
	start, ok := procStartTime(p.PID)
	return ok && start == p.Start
}

func (p procIdentity) String() string { return fmt.Sprintf("%d:%d", p.PID, p.Start) }

// parseIdentity reads the String form back.
func parseIdentity(s string) (procIdentity, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return procIdentity{}, fmt.Errorf("process identity %q: want PID:START", s)
	}
	pid, err := strconv.Atoi(a)
	if err != nil || pid <= 0 {
		return procIdentity{}, fmt.Errorf("process identity %q: bad pid", s)
	}
	start, err := strconv.ParseUint(b, 10, 64)
	if err != nil {
		return procIdentity{}, fmt.Errorf("process identity %q: bad start time", s)
	}
	return procIdentity{PID: pid, Start: start}, nil
}

// procStartTime returns the start time of a live, non-zombie process.
func procStartTime(pid int) (uint64, bool) {
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
	return t, err == nil
}

// hostProc is a process found in /proc.
type hostProc struct {
	id  procIdentity
	cmd string
}

// procsMentioning returns the live processes, other than this one, whose
// command line contains s.
func procsMentioning(s string) []hostProc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []hostProc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		start, ok := procStartTime(pid)
		if !ok {
			continue
		}
		cmd := string(bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), " "))
		out = append(out, hostProc{id: procIdentity{PID: pid, Start: start}, cmd: cmd})
	}
	return out
}

// killProcs sends sig to each process that is still the one found.
func killProcs(ps []hostProc, sig syscall.Signal) {
	for _, p := range ps {
		if p.id.alive() {
			_ = syscall.Kill(p.id.PID, sig)
		}
	}
}

// endProcsMentioning ends the processes whose command line contains s:
// it gives them patience to exit by themselves, then SIGTERM, then SIGKILL
// after grace. It returns a line for each process it signalled and an
// error naming those still running.
func endProcsMentioning(s string, patience, grace time.Duration) ([]string, error) {
	ps := procsMentioning(s)
	if len(ps) == 0 || waitGone(ps, patience) {
		return nil, nil
	}
	var lines []string
	for _, p := range ps {
		if p.id.alive() {
			lines = append(lines, fmt.Sprintf("ended process %d (%s)", p.id.PID, clip(p.cmd, 160)))
		}
	}
	killProcs(ps, syscall.SIGTERM)
	if waitGone(ps, grace) {
		return lines, nil
	}
	killProcs(ps, syscall.SIGKILL)
	if waitGone(ps, 5*time.Second) {
		return lines, nil
	}
	var left []string
	for _, p := range ps {
		if p.id.alive() {
			left = append(left, strconv.Itoa(p.id.PID))
		}
	}
	return lines, fmt.Errorf("processes still running after SIGKILL: %s", strings.Join(left, ", "))
}

// waitGone waits until none of ps runs, up to limit.
func waitGone(ps []hostProc, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		running := false
		for _, p := range ps {
			if p.id.alive() {
				running = true
				break
			}
		}
		if !running {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mountEntry is one line of a mountinfo table.
type mountEntry struct {
	Point  string // mount point, unescaped
	FSType string
	Source string
}

// readMounts reads this process's mount table.
func readMounts() ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading the mount table: %w", err)
	}
	defer f.Close()
	return parseMountInfo(f)
}

// parseMountInfo parses the mountinfo format of proc(5): six or more
// fields, optional fields, a lone "-", then the type, source and options.
func parseMountInfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(f) {
			return nil, fmt.Errorf("mountinfo line %d: want ID PARENT DEV ROOT POINT OPTIONS ... - TYPE SOURCE, got %q", n, clip(line, 200))
		}
		e := mountEntry{Point: unescapeOctal(f[4]), FSType: f[sep+1]}
		if sep+2 < len(f) {
			e.Source = unescapeOctal(f[sep+2])
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mountinfo: %w", err)
	}
	return out, nil
}

// unescapeOctal undoes the kernel's \ooo escapes (space, tab, newline,
// backslash) in mount table fields.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// hybridCgroup2 returns the cgroup2 mount points of a hybrid cgroup host
// (cgroup v1 controllers mounted beside a cgroup2 hierarchy), where crun
// refuses to run; nil on a pure v1 or pure v2 host.
func hybridCgroup2(mounts []mountEntry) []string {
	var v1 bool
	var v2 []string
	for _, m := range mounts {
		switch m.FSType {
		case "cgroup":
			v1 = true
		case "cgroup2":
			v2 = append(v2, m.Point)
		}
	}
	if !v1 {
		return nil
	}
	return v2
}

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(mounts []mountEntry, dir string) []string {
	var out []string
	for i := len(mounts) - 1; i >= 0; i-- {
		if under(mounts[i].Point, dir) {
			out = append(out, mounts[i].Point)
		}
	}
	return out
}

// mountsMentioning returns the mount points whose path or source contains s,
// latest first.
func mountsMentioning(mounts []mountEntry, s string) []string {
	var out []string
	for i := len(mounts) - 1; i >= 0; i-- {
		if strings.Contains(mounts[i].Point, s) || strings.Contains(mounts[i].Source, s) {
			out = append(out, mounts[i].Point)
		}
	}
	return out
}

// unmountAll detaches each mount point; a point no longer mounted is fine.
func unmountAll(points []string) ([]string, error) {
	var lines []string
	var errs []error
	for _, p := range points {
		err := syscall.Unmount(p, syscall.MNT_DETACH)
		switch {
		case err == nil:
			lines = append(lines, "unmounted "+p)
		case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ENOENT):
		default:
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return lines, errors.Join(errs...)
}

// under reports whether path is dir or below it.
func under(path, dir string) bool {
	path, dir = filepath.Clean(path), filepath.Clean(dir)
	return path == dir || strings.HasPrefix(path, dir+"/")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tail returns the last n bytes of s, trimmed.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// readTail returns the last n bytes of a file, or "".
func readTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		_, _ = f.Seek(fi.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, n))
	return strings.TrimSpace(string(b))
}
