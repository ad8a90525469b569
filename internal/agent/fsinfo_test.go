package agent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// The mountinfo-*.txt and fsinfo-*.json files in testdata were captured
// inside real sandboxes (host, runc, crun, runsc, with each scratch kind)
// by running cat /proc/self/mountinfo and the agent's fsinfo mode on the
// scratch directory; the checkout's path was replaced by /src/isobench.

// TestParseMountInfoCaptured reads every captured mount table and finds the
// scratch directory's mount in it, as the agent does inside the sandbox.
func TestParseMountInfoCaptured(t *testing.T) {
	tests := []struct {
		file, path, fsType, mountPoint string
	}{
		{"mountinfo-host.txt", "/", "ext4", "/"},
		{"mountinfo-runc-rootfs.txt", "/scratch", "overlay", "/"},
		{"mountinfo-runc-volume.txt", "/scratch", "ext4", "/scratch"},
		{"mountinfo-runc-tmpfs.txt", "/scratch", "tmpfs", "/scratch"},
		{"mountinfo-crun-rootfs.txt", "/scratch", "overlay", "/"},
		{"mountinfo-crun-volume.txt", "/scratch", "ext4", "/scratch"},
		{"mountinfo-crun-tmpfs.txt", "/scratch", "tmpfs", "/scratch"},
		{"mountinfo-runsc-rootfs.txt", "/scratch", "9p", "/"},
		{"mountinfo-runsc-volume.txt", "/scratch", "9p", "/scratch"},
		{"mountinfo-runsc-tmpfs.txt", "/scratch", "tmpfs", "/scratch"},
		{"mountinfo-runsc-tmpfs.txt", "/scratch/sub/file", "tmpfs", "/scratch"},
		{"mountinfo-runsc-tmpfs.txt", "/scratchy", "9p", "/"},
		{"mountinfo-runc-rootfs.txt", "/proc/self", "proc", "/proc"},
	}
	for _, tc := range tests {
		t.Run(tc.file+tc.path, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			mounts, bad, err := ParseMountInfo(f)
			if err != nil || bad != 0 || len(mounts) < 5 {
				t.Fatalf("parse: %d mounts, %d malformed, %v", len(mounts), bad, err)
			}
			m, ok := MountOf(mounts, tc.path)
			if !ok {
				t.Fatalf("no mount holds %s", tc.path)
			}
			if m.FSType != tc.fsType || m.MountPoint != tc.mountPoint {
				t.Errorf("%s is on %s at %s, want %s at %s", tc.path, m.FSType, m.MountPoint, tc.fsType, tc.mountPoint)
			}
		})
	}
}

func TestParseMountInfoLines(t *testing.T) {
	table := strings.Join([]string{
		`22 1 0:21 / / rw,relatime - ext4 /dev/vda rw`,
		`23 22 0:22 / /mnt/with\040space rw shared:1 master:2 - tmpfs my\040tmpfs rw,size=1k`,
		`24 22 0:23 / /mnt/back\134slash rw - fuse.sshfs host:/x rw`,
		`25 22 0:24 / /over rw - tmpfs a rw`,
		`26 22 0:25 / /over rw - xfs b rw`,
		`garbage`,
		`x 1 0:1 / /bad rw - ext4 a rw`,
		`27 1 0:1 / relative rw - ext4 a rw`,
		`28 1 0:1 / /nosep rw ext4 a rw`,
		`29 1 0:1 / /short rw -`,
		`30 22 0:26 / /noopts rw - proc proc`,
		`31 22 0:27 / /odd\04 rw - tmpfs t\999 rw`,
		``,
	}, "\n")
	mounts, bad, err := ParseMountInfo(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	if bad != 5 {
		t.Errorf("%d malformed lines, want 5", bad)
	}
	tests := []struct{ path, fs, mp, source string }{
		{"/mnt/with space/f", "tmpfs", "/mnt/with space", "my tmpfs"},
		{`/mnt/back\slash`, "fuse.sshfs", `/mnt/back\slash`, "host:/x"},
		{"/over/x", "xfs", "/over", "b"},
		{"/overt", "ext4", "/", "/dev/vda"},
		{"/noopts", "proc", "/noopts", "proc"},
		{`/odd\04`, "tmpfs", `/odd\04`, `t\999`},
	}
	for _, tc := range tests {
		m, ok := MountOf(mounts, tc.path)
		if !ok || m.FSType != tc.fs || m.MountPoint != tc.mp || m.Source != tc.source {
			t.Errorf("MountOf(%q) = %+v, %v; want %s at %s from %s", tc.path, m, ok, tc.fs, tc.mp, tc.source)
		}
	}
	if _, ok := MountOf(nil, "/x"); ok {
		t.Error("MountOf found a mount in an empty table")
	}
}

// TestParseFSInfoCaptured decodes every captured fsinfo report and checks
// the filesystem each scratch kind was on.
func TestParseFSInfoCaptured(t *testing.T) {
	want := map[string]string{
		"host-rootfs": "ext4", "host-volume": "ext4", "host-tmpfs": "tmpfs",
		"runc-rootfs": "overlay", "runc-volume": "ext4", "runc-tmpfs": "tmpfs",
		"crun-rootfs": "overlay", "crun-volume": "ext4", "crun-tmpfs": "tmpfs",
		"runsc-rootfs": "9p", "runsc-volume": "9p", "runsc-tmpfs": "tmpfs",
	}
	files, _ := filepath.Glob("testdata/fsinfo-*.json")
	if len(files) != len(want) {
		t.Fatalf("%d captured fsinfo reports, want %d", len(files), len(want))
	}
	for _, f := range files {
		key := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "fsinfo-"), ".json")
		t.Run(key, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			info, err := ParseFSInfo(b)
			if err != nil {
				t.Fatal(err)
			}
			if info.FSType != want[key] {
				t.Errorf("fs_type %q, want %q", info.FSType, want[key])
			}
			if info.MagicName != "" && info.MagicName != info.FSType && !(info.FSType == "ext4" && info.MagicName == "ext2/3/4") {
				t.Errorf("statfs says %s, the mount table %s", info.MagicName, info.FSType)
			}
			if info.BlockSize <= 0 || info.TotalBytes == 0 {
				t.Errorf("block size %d, total %d", info.BlockSize, info.TotalBytes)
			}
		})
	}
}

func TestParseFSInfoErrors(t *testing.T) {
	good := `{"type":"fsinfo","path":"/scratch","fs_type":"tmpfs","magic":16914836,"block_size":4096}`
	tests := []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"not json", "statfs: no such file", "fsinfo report"},
		{"two lines", good + "\n" + good, "more than one line"},
		{"wrong type", strings.Replace(good, `"fsinfo"`, `"result"`, 1), `message type "result"`},
		{"no type", `{"fs_type":"tmpfs"}`, `message type ""`},
		{"no fs type", strings.Replace(good, `"fs_type":"tmpfs"`, `"fs_type":""`, 1), "fs_type: empty"},
		{"fs type with space", strings.Replace(good, `"fs_type":"tmpfs"`, `"fs_type":"tmp fs"`, 1), "not a filesystem type name"},
		{"control char", strings.Replace(good, `"/scratch"`, `"/scr\u001batch"`, 1), "field path: control character"},
		{"newline in field", strings.Replace(good, `"/scratch"`, `"/scr\natch"`, 1), "field path: control character"},
		{"long field", strings.Replace(good, "/scratch", "/"+strings.Repeat("a", 5000), 1), "field path: 5001 bytes"},
		{"huge", good + strings.Repeat(" ", MaxFSInfo), ""},
		{"too big", `{"type":"fsinfo","note":"` + strings.Repeat("a", MaxFSInfo) + `"}`, "more than the"},
		{"negative block", strings.Replace(good, `"block_size":4096`, `"block_size":-1`, 1), "block_size: -1 is negative"},
		{"magic not a number", strings.Replace(good, `16914836`, `"x"`, 1), "fsinfo report"},
		{"trailing junk", good + "x", "fsinfo report"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFSInfo([]byte(tc.in))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("error %v for a valid report with trailing space", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestParseFSInfoInvalidUTF8: JSON decoding turns invalid UTF-8 into the
// replacement character, so nothing invalid reaches attributes.
func TestParseFSInfoInvalidUTF8(t *testing.T) {
	in := `{"type":"fsinfo","path":"/scr` + "\xff" + `atch","fs_type":"tmpfs"}`
	info, err := ParseFSInfo([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if info.Path != "/scr\uFFFDatch" {
		t.Errorf("path %q", info.Path)
	}
}

// TestStatFSHost runs the agent's own code on this machine's filesystems.
func TestStatFSHost(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	info, err := StatFS(link, MountInfoPath)
	if err != nil {
		t.Fatal(err)
	}
	if info.Resolved != dir {
		t.Errorf("resolved %q, want %q", info.Resolved, dir)
	}
	if info.FSType == "" || info.MountPoint == "" || !strings.HasPrefix(dir, strings.TrimSuffix(info.MountPoint, "/")+"/") {
		t.Errorf("%s on %q at %q", dir, info.FSType, info.MountPoint)
	}
	if info.Note != "" {
		t.Errorf("note %q", info.Note)
	}
	// Without a mount table the type comes from statfs, and the note says so.
	noTable, err := StatFS(dir, filepath.Join(dir, "no-such-mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	if noTable.Note == "" || noTable.FSType != noTable.MagicName {
		t.Errorf("without a mount table: %+v", noTable)
	}
	if _, err := StatFS(filepath.Join(dir, "missing"), MountInfoPath); err == nil || !strings.Contains(err.Error(), "statfs") {
		t.Errorf("missing path: error %v", err)
	}
}

// TestMainFSInfo runs the mode as the host calls it and reads its output
// back with the host's parser.
func TestMainFSInfo(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main([]string{"fsinfo", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("status %d: %s", code, errb.String())
	}
	info, err := ParseFSInfo(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if info.Path != dir {
		t.Errorf("path %q, want %q", info.Path, dir)
	}
	for _, args := range [][]string{{"fsinfo"}, {"fsinfo", "a", "b"}, {"fsinfo", ""}, {"fsinfo", filepath.Join(dir, "missing")}} {
		out.Reset()
		errb.Reset()
		if code := Main(args, nil, &out, &errb); code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "fsinfo") {
			t.Errorf("Main(%q) = %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
}

func FuzzParseMountInfo(f *testing.F) {
	files, _ := filepath.Glob("testdata/mountinfo-*.txt")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add(`1 2 0:1 / /a\040b rw - x y z`)
	f.Fuzz(func(t *testing.T, table string) {
		mounts, bad, err := ParseMountInfo(strings.NewReader(table))
		if err != nil {
			return
		}
		if bad < 0 {
			t.Fatalf("%d malformed", bad)
		}
		for _, m := range mounts {
			if !strings.HasPrefix(m.MountPoint, "/") || m.FSType == "" {
				t.Fatalf("bad mount %+v", m)
			}
		}
		if m, ok := MountOf(mounts, "/scratch"); ok && m.MountPoint != "/" && m.MountPoint != "/scratch" {
			t.Fatalf("/scratch under %q", m.MountPoint)
		}
	})
}

func FuzzParseFSInfo(f *testing.F) {
	files, _ := filepath.Glob("testdata/fsinfo-*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseFSInfo(b)
		if err != nil {
			return
		}
		if info.Type != TypeFSInfo || info.FSType == "" || info.BlockSize < 0 {
			t.Fatalf("accepted %+v", info)
		}
		for _, s := range []string{info.Path, info.FSType, info.Source, info.MountOptions, info.SuperOptions, info.Note} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r\x00\x1b") {
				t.Fatalf("accepted field %q", s)
			}
		}
		// What was accepted encodes back to one line.
		out, err := json.Marshal(info)
		if err != nil || bytes.IndexByte(out, '\n') >= 0 {
			t.Fatalf("re-encoding: %v", err)
		}
	})
}
