package driverkit

import (
	"bufio"
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

// Mount is one line of a mountinfo table.
type Mount struct {
	Point  string // mount point, unescaped
	FSType string
	Source string // unescaped
}

// ReadMountInfo reads the mount table of this process's mount namespace.
func ReadMountInfo() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mount table: %w", err)
	}
	defer f.Close()
	return ParseMountInfo(f)
}

// ParseMountInfo parses the mountinfo format of proc(5): mount id, parent
// id, device, root, mount point, options, optional fields, a lone "-", then
// the type, the source and the super block options. A line it cannot read is
// an error naming the line; blank lines are skipped.
func ParseMountInfo(r io.Reader) ([]Mount, error) {
	var out []Mount
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
			return nil, fmt.Errorf("mountinfo line %d: no separator: %q", n, Clip(line, 200))
		}
		f := strings.Fields(pre)
		g := strings.Fields(post)
		if len(f) < 5 || len(g) < 2 {
			return nil, fmt.Errorf("mountinfo line %d: too few fields: %q", n, Clip(line, 200))
		}
		out = append(out, Mount{Point: UnescapeOctal(f[4]), FSType: g[0], Source: UnescapeOctal(g[1])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mountinfo: %w", err)
	}
	return out, nil
}

// UnescapeOctal undoes the \ooo escapes the kernel writes for spaces, tabs,
// newlines and backslashes in mount table fields. A backslash not followed
// by three octal digits of a byte stays as it is.
func UnescapeOctal(s string) string {
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

// within reports whether path is dir or below it, comparing the paths as
// given.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// Under reports whether path is dir or below it, after cleaning both.
func Under(path, dir string) bool {
	return within(filepath.Clean(path), filepath.Clean(dir))
}

// MountsAt returns the mount points equal to path or below it, in the
// table's order (a parent before what is mounted on it).
func MountsAt(table []Mount, path string) []string {
	var out []string
	for _, m := range table {
		if within(m.Point, path) {
			out = append(out, m.Point)
		}
	}
	return out
}

// MountsUnder returns the mount points at or below dir, latest first: the
// order to unmount them in.
func MountsUnder(table []Mount, dir string) []string {
	var out []string
	for i := len(table) - 1; i >= 0; i-- {
		if Under(table[i].Point, dir) {
			out = append(out, table[i].Point)
		}
	}
	return out
}

// MountsMentioning returns the mount points whose path or source contains
// s, latest first.
func MountsMentioning(table []Mount, s string) []string {
	var out []string
	for i := len(table) - 1; i >= 0; i-- {
		if strings.Contains(table[i].Point, s) || strings.Contains(table[i].Source, s) {
			out = append(out, table[i].Point)
		}
	}
	return out
}

// IsMountPoint reports whether path is a mount point in the table.
func IsMountPoint(table []Mount, path string) bool {
	for _, m := range table {
		if m.Point == path {
			return true
		}
	}
	return false
}

// Unmount unmounts path, retrying for up to two seconds while it is busy.
// A path that is not a mount point is not an error.
func Unmount(path string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := syscall.Unmount(path, 0)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ENOENT):
			table, terr := ReadMountInfo()
			if terr != nil {
				return fmt.Errorf("unmounting %s: %w", path, err)
			}
			if !IsMountPoint(table, path) {
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

// RemoveDirUnmounted removes a directory tree, refusing while anything is
// mounted in it (removing through a mount would reach what is mounted).
func RemoveDirUnmounted(dir string) error {
	table, err := ReadMountInfo()
	if err != nil {
		return err
	}
	if m := MountsAt(table, dir); len(m) > 0 {
		return fmt.Errorf("not removing %s: still mounted there: %s", dir, strings.Join(m, ", "))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing %s: %w", dir, err)
	}
	return nil
}

// RemoveRecorded removes what a state record names on the host's
// filesystem: it unmounts each of the record's mount points the mount table
// still holds, then removes dir, the record's directory, if it exists. A
// mount point outside dir is refused and not touched: a damaged record must
// not make isobench unmount what is not its own. It returns a line for each
// thing it removed and an error for each it could not; when the mount table
// cannot be read it tries nothing.
func RemoveRecorded(points []string, dir string) (lines []string, errs []error) {
	table, err := ReadMountInfo()
	if err != nil {
		return nil, []error{err}
	}
	for _, m := range points {
		if !Under(m, dir) {
			errs = append(errs, fmt.Errorf("state record names mount %q outside %s; not touching it", m, dir))
			continue
		}
		if !IsMountPoint(table, m) {
			continue
		}
		if err := Unmount(m); err != nil {
			errs = append(errs, err)
			continue
		}
		lines = append(lines, "unmounted "+m)
	}
	if _, err := os.Lstat(dir); err == nil {
		if err := RemoveDirUnmounted(dir); err != nil {
			errs = append(errs, err)
		} else {
			lines = append(lines, "removed directory "+dir)
		}
	}
	return lines, errs
}
