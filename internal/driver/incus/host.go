package incus

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

// The host helpers below read the kernel's tables (mounts, processes) the
// same way as the lxc driver's.

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
