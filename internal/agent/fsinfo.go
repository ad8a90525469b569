package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// TypeFSInfo is the message type of an fsinfo report.
const TypeFSInfo = "fsinfo"

// MountInfoPath is where the agent reads the mount table of its own mount
// namespace.
const MountInfoPath = "/proc/self/mountinfo"

// Bounds of an fsinfo report: the mount table read, one text field, and the
// whole message the host accepts.
const (
	maxMountInfo = 4 << 20
	maxFieldLen  = 4096
	// MaxFSInfo bounds the fsinfo report the host accepts.
	MaxFSInfo = 64 << 10
)

// FSInfo is what the agent's fsinfo mode reports of the filesystem holding a
// path, as seen from inside the sandbox: the mount (from the mount table) and
// the filesystem's own figures (from statfs).
type FSInfo struct {
	Type string `json:"type"`
	// Path is the path asked about; Resolved is it with symbolic links
	// followed.
	Path     string `json:"path"`
	Resolved string `json:"resolved"`
	// MountPoint, FSType, Source, MountOptions and SuperOptions come from
	// the mount table entry the path lives under: the per-mount options
	// (e.g. "rw,relatime") and the filesystem's own (e.g.
	// "rw,lowerdir=...").
	MountPoint   string `json:"mount_point,omitempty"`
	FSType       string `json:"fs_type"`
	Source       string `json:"source,omitempty"`
	MountOptions string `json:"mount_options,omitempty"`
	SuperOptions string `json:"super_options,omitempty"`
	// Magic is statfs's f_type, MagicName its usual name where known.
	Magic     uint64 `json:"magic"`
	MagicName string `json:"magic_name,omitempty"`
	// BlockSize, TotalBytes and FreeBytes are statfs's f_bsize and the
	// filesystem's size and the space free to an unprivileged user.
	BlockSize  int64  `json:"block_size"`
	TotalBytes uint64 `json:"total_bytes"`
	FreeBytes  uint64 `json:"free_bytes"`
	// Note says what could not be found (e.g. an unreadable mount table, in
	// which case FSType is MagicName).
	Note string `json:"note,omitempty"`
}

// MagicName returns the usual name of a statfs magic number, or "" (names
// of the filesystems a sandbox's files are commonly on, from the Linux
// statfs(2) manual page).
func MagicName(magic uint64) string {
	switch magic {
	case 0xEF53:
		return "ext2/3/4"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x794C7630:
		return "overlay"
	case 0x01021994:
		return "tmpfs"
	case 0x01021997:
		return "9p"
	case 0x65735546:
		return "fuse"
	case 0x6969:
		return "nfs"
	case 0x2FC12FC1:
		return "zfs"
	case 0x858458F6:
		return "ramfs"
	case 0x73717368:
		return "squashfs"
	case 0xF2F52010:
		return "f2fs"
	}
	return ""
}

func mainFSInfo(args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] == "" {
		return errors.New("fsinfo: want exactly one path")
	}
	info, err := StatFS(args[0], MountInfoPath)
	if err != nil {
		return err
	}
	b, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("fsinfo: encoding: %w", err)
	}
	if _, err := stdout.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("fsinfo: writing: %w", err)
	}
	return nil
}

// StatFS describes the filesystem holding path, reading the mount table at
// mountinfo. A mount table that cannot be read or has no entry for the path
// is said in Note; a path that cannot be statfs'd is an error.
func StatFS(path, mountinfo string) (FSInfo, error) {
	info := FSInfo{Type: TypeFSInfo, Path: path, Resolved: path}
	abs, err := filepath.Abs(path)
	if err != nil {
		return info, fmt.Errorf("fsinfo %s: %w", path, err)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	info.Resolved = abs
	var st syscall.Statfs_t
	if err := syscall.Statfs(abs, &st); err != nil {
		return info, fmt.Errorf("fsinfo: statfs %s: %w", abs, err)
	}
	info.Magic = uint64(st.Type) & 0xFFFFFFFF
	info.MagicName = MagicName(info.Magic)
	info.BlockSize = st.Bsize
	if st.Bsize > 0 {
		info.TotalBytes = st.Blocks * uint64(st.Bsize)
		info.FreeBytes = st.Bavail * uint64(st.Bsize)
	}
	f, err := os.Open(mountinfo)
	if err != nil {
		info.FSType = info.MagicName
		info.Note = fmt.Sprintf("mount table unreadable: %v", err)
		return info, nil
	}
	defer f.Close()
	mounts, bad, err := ParseMountInfo(io.LimitReader(f, maxMountInfo))
	if err != nil {
		info.Note = fmt.Sprintf("mount table: %v", err)
	}
	m, ok := MountOf(mounts, abs)
	if !ok {
		info.FSType = info.MagicName
		info.Note = strings.TrimPrefix(info.Note+"; no mount table entry holds "+abs, "; ")
		return info, nil
	}
	info.MountPoint, info.FSType, info.Source = m.MountPoint, m.FSType, m.Source
	info.MountOptions, info.SuperOptions = m.Options, m.SuperOptions
	if bad > 0 {
		info.Note = strings.TrimPrefix(fmt.Sprintf("%s; %d malformed mount table lines skipped", info.Note, bad), "; ")
	}
	return info, nil
}

// Mount is one entry of /proc/PID/mountinfo (see proc(5)).
type Mount struct {
	ID, Parent   int
	Root         string
	MountPoint   string
	Options      string
	FSType       string
	Source       string
	SuperOptions string
}

// ParseMountInfo reads a mountinfo table. Malformed lines are skipped and
// counted; only a read error (or a line longer than 64 KiB) is an error,
// returned with the mounts read until then.
func ParseMountInfo(r io.Reader) (mounts []Mount, malformed int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, ok := parseMountLine(line)
		if !ok {
			malformed++
			continue
		}
		mounts = append(mounts, m)
	}
	if err := sc.Err(); err != nil {
		return mounts, malformed, fmt.Errorf("reading mount table: %w", err)
	}
	return mounts, malformed, nil
}

// parseMountLine parses "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...]
// - FSTYPE SOURCE SUPEROPTS".
func parseMountLine(line string) (Mount, bool) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 6 || sep < 0 || len(f) < sep+3 {
		return Mount{}, false
	}
	id, err1 := strconv.Atoi(f[0])
	parent, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return Mount{}, false
	}
	m := Mount{
		ID: id, Parent: parent,
		Root:         unescapeMount(f[3]),
		MountPoint:   unescapeMount(f[4]),
		Options:      f[5],
		FSType:       unescapeMount(f[sep+1]),
		Source:       unescapeMount(f[sep+2]),
		SuperOptions: "",
	}
	if len(f) > sep+3 {
		m.SuperOptions = unescapeMount(f[sep+3])
	}
	if !strings.HasPrefix(m.MountPoint, "/") || m.FSType == "" {
		return Mount{}, false
	}
	return m, true
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space, \011,
// \012, \134) in a mount table field. Anything else is kept as it is.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
			if err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}

// MountOf returns the mount that holds path: the entry whose mount point is
// the longest prefix of path, the later entry when several mounts share it
// (the later one is on top).
func MountOf(mounts []Mount, path string) (Mount, bool) {
	best, found := -1, false
	var out Mount
	for _, m := range mounts {
		mp := m.MountPoint
		under := path == mp || mp == "/" || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")
		if !under {
			continue
		}
		if len(mp) >= best {
			best, out, found = len(mp), m, true
		}
	}
	return out, found
}

// ParseFSInfo decodes the fsinfo report an agent printed. The report is
// treated as hostile: its size is bounded, it must be one fsinfo message,
// and every text field must be valid UTF-8 of bounded length without control
// characters; otherwise the error names the field.
func ParseFSInfo(b []byte) (FSInfo, error) {
	var info FSInfo
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return info, errors.New("fsinfo report is empty")
	}
	if len(b) > MaxFSInfo {
		return info, fmt.Errorf("fsinfo report is %d bytes, more than the %d accepted", len(b), MaxFSInfo)
	}
	if bytes.IndexByte(b, '\n') >= 0 {
		return info, errors.New("fsinfo report has more than one line")
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return FSInfo{}, fmt.Errorf("fsinfo report: %w (starts %q)", err, clip(string(b), 80))
	}
	if info.Type != TypeFSInfo {
		return FSInfo{}, fmt.Errorf("fsinfo report: message type %q, want %q", info.Type, TypeFSInfo)
	}
	for _, f := range []struct{ name, v string }{
		{"path", info.Path}, {"resolved", info.Resolved}, {"mount_point", info.MountPoint},
		{"fs_type", info.FSType}, {"source", info.Source}, {"mount_options", info.MountOptions},
		{"super_options", info.SuperOptions}, {"magic_name", info.MagicName}, {"note", info.Note},
	} {
		if err := checkText(f.v); err != nil {
			return FSInfo{}, fmt.Errorf("fsinfo report field %s: %w", f.name, err)
		}
	}
	if info.FSType == "" {
		return FSInfo{}, errors.New("fsinfo report field fs_type: empty (the filesystem type is unknown)")
	}
	if strings.ContainsAny(info.FSType, " ,=") {
		return FSInfo{}, fmt.Errorf("fsinfo report field fs_type: %q is not a filesystem type name", info.FSType)
	}
	if info.BlockSize < 0 {
		return FSInfo{}, fmt.Errorf("fsinfo report field block_size: %d is negative", info.BlockSize)
	}
	return info, nil
}

func checkText(s string) error {
	if len(s) > maxFieldLen {
		return fmt.Errorf("%d bytes, more than the %d accepted", len(s), maxFieldLen)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}
