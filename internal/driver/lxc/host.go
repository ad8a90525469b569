package lxc

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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
			return nil, fmt.Errorf("mountinfo line %d: no separator: %q", n, clip(line, 200))
		}
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if len(f) < 5 || len(g) < 2 {
			return nil, fmt.Errorf("mountinfo line %d: too few fields: %q", n, clip(line, 200))
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

// isMountPoint reports whether path is a mount point in the table.
func isMountPoint(table []mountInfo, path string) bool {
	for _, m := range table {
		if m.Point == path {
			return true
		}
	}
	return false
}

// cgroupMounts returns every cgroup (v1) and cgroup2 mount point.
func cgroupMounts(table []mountInfo) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range table {
		if (m.FSType == "cgroup" || m.FSType == "cgroup2") && !seen[m.Point] {
			seen[m.Point] = true
			out = append(out, m.Point)
		}
	}
	return out
}

// cgroupLayout names the host's cgroup layout: v1, v2, hybrid or none.
func cgroupLayout(table []mountInfo) string {
	v1, v2 := false, false
	for _, m := range table {
		switch m.FSType {
		case "cgroup":
			v1 = true
		case "cgroup2":
			v2 = true
		}
	}
	switch {
	case v1 && v2:
		return "hybrid"
	case v1:
		return "v1"
	case v2:
		return "v2"
	}
	return "none"
}

// lxcCgroupNames are the cgroups LXC makes for a container name: the
// container's own (payload) and its monitor's.
func lxcCgroupNames(name string) []string {
	return []string{"lxc.payload." + name, "lxc.monitor." + name}
}

// cgroupDirs returns the existing cgroup directories LXC made for the
// container name, directly under each cgroup mount (where LXC puts them
// when started from the root cgroup) or one or two levels below (when
// started from a nested cgroup).
func cgroupDirs(mounts []string, name string) []string {
	want := map[string]bool{}
	for _, n := range lxcCgroupNames(name) {
		want[n] = true
	}
	var out []string
	for _, m := range mounts {
		var walk func(dir string, depth int)
		walk = func(dir string, depth int) {
			ents, err := os.ReadDir(dir)
			if err != nil {
				return
			}
			for _, e := range ents {
				if !e.IsDir() {
					continue
				}
				p := filepath.Join(dir, e.Name())
				if want[e.Name()] {
					out = append(out, p)
					continue
				}
				if depth < 2 && !strings.HasPrefix(e.Name(), "lxc.") {
					walk(p, depth+1)
				}
			}
		}
		walk(m, 0)
	}
	return out
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

// cgroupProcs returns the pids in the given cgroup directories and below.
func cgroupProcs(dirs []string) []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() || e.Name() != "cgroup.procs" {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 0 && pid != os.Getpid() && !seen[pid] {
					seen[pid] = true
					out = append(out, pid)
				}
			}
			return nil
		})
	}
	return out
}

// removeCgroups kills what is left in the container's cgroups and removes
// them, retrying briefly while the last tasks exit. It returns the
// directories it removed.
func removeCgroups(mounts []string, name string, wait time.Duration) ([]string, error) {
	var removed []string
	deadline := time.Now().Add(wait)
	for {
		dirs := cgroupDirs(mounts, name)
		for _, pid := range cgroupProcs(dirs) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		var errs []error
		for _, d := range dirs {
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

// proc is a process found by scanning /proc.
type proc struct {
	PID     int
	Cmdline string
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
		hit := id != "" && strings.Contains(cmd, id)
		if dir != "" && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
			hit = true
		}
		if hit {
			out = append(out, proc{PID: pid, Cmdline: cmd})
		}
	}
	return out
}

// procStartTime returns the start time of a process (in clock ticks since
// boot), which together with its pid names it uniquely; ok is false when the
// process does not exist or is a zombie.
func procStartTime(pid int) (ticks uint64, ok bool) {
	if pid <= 0 {
		return 0, false
	}
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
	_, ok := procStartTime(pid)
	return ok
}

// unmount unmounts path, retrying briefly while it is busy. A path that is
// not a mount point is not an error.
func unmount(path string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := syscall.Unmount(path, 0)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ENOENT):
			table, terr := readMountInfo()
			if terr != nil {
				return fmt.Errorf("unmounting %s: %w", path, err)
			}
			if !isMountPoint(table, path) {
				return nil
			}
			return fmt.Errorf("unmounting %s: %w", path, err)
		case errors.Is(err, syscall.EBUSY) && time.Now().Before(deadline):
			time.Sleep(20 * time.Millisecond)
		default:
			return fmt.Errorf("unmounting %s: %w", path, err)
		}
	}
}

// removeDirUnmounted removes a directory tree, refusing while anything is
// mounted in it (removing through a mount would reach what is mounted).
func removeDirUnmounted(dir string) error {
	table, err := readMountInfo()
	if err != nil {
		return err
	}
	if m := mountsAt(table, dir); len(m) > 0 {
		return fmt.Errorf("not removing %s: still mounted there: %s", dir, strings.Join(m, ", "))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// under reports whether path is dir or below it.
func under(path, dir string) bool {
	path, dir = filepath.Clean(path), filepath.Clean(dir)
	return path == dir || strings.HasPrefix(path, dir+"/")
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

// readTail returns the last n bytes of a file, trimmed; "" if unreadable.
func readTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-int64(n), 0)
	b := make([]byte, fi.Size()-off)
	k, _ := f.ReadAt(b, off)
	return tail(string(b[:k]), n)
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

// staticBusybox finds a statically linked busybox in PATH: the one program
// the probe's test container runs, since it needs no libraries.
func staticBusybox() (string, error) {
	p, err := exec.LookPath("busybox")
	if err != nil {
		return "", errors.New("no busybox in PATH (the test container runs a static busybox; Debian package busybox-static)")
	}
	f, err := elf.Open(p)
	if err != nil {
		return "", fmt.Errorf("%s: not a readable ELF file: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked; the test container needs a static busybox (Debian package busybox-static)", p)
		}
	}
	return p, nil
}

func randomSuffix() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", from, err)
	}
	return out.Close()
}
