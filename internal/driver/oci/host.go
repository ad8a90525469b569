package oci

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

// mountInfo is one line of /proc/self/mountinfo.
type mountInfo struct {
	Point  string // mount point, unescaped
	FSType string
	Source string
}

// readMountInfo reads the mount table of this process's mount namespace.
func readMountInfo() ([]mountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mount table: %w", err)
	}
	defer f.Close()
	return parseMountInfo(f)
}

// parseMountInfo parses the format of proc(5) mountinfo.
func parseMountInfo(r io.Reader) ([]mountInfo, error) {
	var out []mountInfo
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			return nil, fmt.Errorf("mountinfo line %d: no separator: %q", n, line)
		}
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if len(f) < 5 || len(g) < 2 {
			return nil, fmt.Errorf("mountinfo line %d: too few fields: %q", n, line)
		}
		out = append(out, mountInfo{Point: unescapeOctal(f[4]), FSType: g[0], Source: unescapeOctal(g[1])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mountinfo: %w", err)
	}
	return out, nil
}

// unescapeOctal undoes the \ooo escapes the kernel writes for spaces, tabs,
// newlines and backslashes in mount table fields.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
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

// mountsAt returns the mount points equal to path or below it.
func mountsAt(table []mountInfo, path string) []string {
	var out []string
	for _, m := range table {
		if m.Point == path || strings.HasPrefix(m.Point, path+"/") {
			out = append(out, m.Point)
		}
	}
	return out
}

// Cgroup layouts.
const (
	cgroupV1     = "v1"
	cgroupV2     = "v2"
	cgroupHybrid = "hybrid"
	cgroupNone   = "none"
)

// cgroupInfo is what the mount table says about cgroups.
type cgroupInfo struct {
	Layout string
	// Mounts are every cgroup (v1) and cgroup2 mount point.
	Mounts []string
	// Unified are the cgroup2 mount points; on a hybrid host these are
	// what crun must not see.
	Unified []string
}

func cgroupLayout(table []mountInfo) cgroupInfo {
	var ci cgroupInfo
	v1 := false
	seen := map[string]bool{}
	for _, m := range table {
		switch m.FSType {
		case "cgroup":
			v1 = true
		case "cgroup2":
			ci.Unified = append(ci.Unified, m.Point)
		default:
			continue
		}
		if !seen[m.Point] {
			seen[m.Point] = true
			ci.Mounts = append(ci.Mounts, m.Point)
		}
	}
	switch {
	case v1 && len(ci.Unified) > 0:
		ci.Layout = cgroupHybrid
	case v1:
		ci.Layout = cgroupV1
	case len(ci.Unified) > 0:
		ci.Layout = cgroupV2
	default:
		ci.Layout = cgroupNone
	}
	return ci
}

// cgroupParent is the cgroup every sandbox's cgroup is made under.
const cgroupParent = "isobench"

// cgroupsPath is the OCI cgroupsPath of a sandbox.
func cgroupsPath(id string) string { return "/" + cgroupParent + "/" + id }

// cgroupDirs returns the existing cgroup directories of a sandbox id in every
// hierarchy.
func cgroupDirs(mounts []string, id string) []string {
	var out []string
	for _, m := range mounts {
		p := filepath.Join(m, cgroupParent, id)
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// removeCgroupDirs removes the cgroup directories of id, retrying briefly
// while their last tasks exit. It returns the directories it removed.
func removeCgroupDirs(mounts []string, id string, wait time.Duration) ([]string, error) {
	var removed []string
	deadline := time.Now().Add(wait)
	for {
		var errs []error
		for _, d := range cgroupDirs(mounts, id) {
			// Nested cgroups (a runtime may make some) go first.
			if err := removeCgroupTree(d); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, d)
		}
		if len(errs) == 0 {
			return removed, nil
		}
		if time.Now().After(deadline) {
			return removed, errors.Join(errs...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// removeCgroupTree removes a cgroup directory and the cgroups below it.
// cgroupfs allows only rmdir (the control files go with the directory).
func removeCgroupTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("reading cgroup %s: %w", dir, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeCgroupTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("removing cgroup %s: %w", dir, err)
	}
	return nil
}

// proc is a process found by scanning /proc.
type proc struct {
	PID     int
	Cmdline string
	Cwd     string
}

// procsMentioning returns the processes (other than this one) whose command
// line mentions id or whose working directory is dir or below it. Zombies
// have no command line and are not returned.
func procsMentioning(id, dir string) []proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		cmd := string(bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), " "))
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		hit := mentionsID(cmd, id)
		if dir != "" && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			hit = true
		}
		if hit {
			out = append(out, proc{PID: pid, Cmdline: cmd, Cwd: cwd})
		}
	}
	return out
}

// isIDByte reports whether c may be part of a sandbox id.
func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// mentionsID reports whether s holds id as a whole word: not as part of a
// longer id ("isobench-a1" is not mentioned by "isobench-a10").
func mentionsID(s, id string) bool {
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

// killProcs sends SIGKILL to the processes mentioning id (see
// procsMentioning) and waits up to wait for them to be gone. It returns
// those it killed and an error naming any that stayed.
func killProcs(id, dir string, wait time.Duration) ([]proc, error) {
	found := procsMentioning(id, dir)
	for _, p := range found {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
	if len(found) == 0 {
		return nil, nil
	}
	deadline := time.Now().Add(wait)
	for {
		left := procsMentioning(id, dir)
		if len(left) == 0 {
			return found, nil
		}
		if time.Now().After(deadline) {
			var names []string
			for _, p := range left {
				names = append(names, fmt.Sprintf("pid %d (%s)", p.PID, clip(p.Cmdline, 120)))
			}
			return found, fmt.Errorf("processes of %s still running after SIGKILL: %s", id, strings.Join(names, ", "))
		}
		for _, p := range left {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procStartTime returns the start time of a process (in clock ticks since
// boot), which together with its pid names it uniquely; ok is false when the
// process does not exist or is a zombie.
func procStartTime(pid int) (ticks uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// After the command: state is field 3 of stat(5), starttime field 22.
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, false
	}
	return t, true
}

// alive reports whether pid runs (and is not a zombie).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	_, ok := procStartTime(pid)
	return ok
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tail returns the last n bytes of s, starting at a line boundary where
// possible, trimmed.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return "…" + s
}

// ringBuffer keeps the last bytes written to it.
type ringBuffer struct {
	buf []byte
	max int
}

func (r *ringBuffer) Write(p []byte) (int, error) {
	r.buf = append(r.buf, p...)
	if len(r.buf) > r.max {
		r.buf = append(r.buf[:0], r.buf[len(r.buf)-r.max:]...)
	}
	return len(p), nil
}

func (r *ringBuffer) String() string { return string(r.buf) }
