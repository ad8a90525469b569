package drivertest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestNetDevInterfaces(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"lo only", `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
`, []string{"lo"}},
		{"two", `Inter-|   Receive |  Transmit
 face |bytes |bytes
  eth0: 1 2
    lo: 0 0
`, []string{"eth0", "lo"}},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := netDevInterfaces(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("netDevInterfaces = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMountAt(t *testing.T) {
	mounts := "none / 9p rw 0 0\ntmpfs /scratch tmpfs rw 0 0\n/dev/sda1 /scratch ext4 rw 0 0\n"
	tests := []struct {
		point, fstype string
		ok            bool
	}{
		{"/scratch", "ext4", true}, // the last mount at a point is the one seen
		{"/", "9p", true},
		{"/tmp", "", false},
		{"/scr", "", false},
	}
	for _, tc := range tests {
		fstype, ok := mountAt(mounts, tc.point)
		if fstype != tc.fstype || ok != tc.ok {
			t.Errorf("mountAt(%q) = %q, %v; want %q, %v", tc.point, fstype, ok, tc.fstype, tc.ok)
		}
	}
}

func TestCopyTree(t *testing.T) {
	src := t.TempDir()
	for _, d := range []string{"bin", ".isobench"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"bin/busybox": "bb", ".isobench/agent": "agent", "etc-file": "x"}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(src, p), []byte(c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("busybox", filepath.Join(src, "bin", "sh")); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy")
	if err := copyTree(src, dst, "/.isobench/agent"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dst, ".isobench", "agent")); !os.IsNotExist(err) {
		t.Errorf("the skipped file was copied (err %v)", err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "bin", "sh")); err != nil || target != "busybox" {
		t.Errorf("symlink: %q, %v", target, err)
	}
	for _, p := range []string{"bin/busybox", "etc-file"} {
		b, err := os.ReadFile(filepath.Join(dst, p))
		if err != nil || string(b) != files[p] {
			t.Errorf("%s: %q, %v", p, b, err)
		}
	}
}

func TestPathsNaming(t *testing.T) {
	root := t.TempDir()
	id := "isobench-dt-abc"
	if err := os.MkdirAll(filepath.Join(root, "oci", id, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "oci", "other.json"), []byte(`{"id":"`+id+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "clean.json"), []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	byName := pathsNaming(root, id, false)
	if len(byName) != 1 || !strings.HasSuffix(byName[0], id) {
		t.Errorf("by name: %q", byName)
	}
	withContent := pathsNaming(root, id, true)
	if len(withContent) != 2 {
		t.Errorf("with content: %q", withContent)
	}
	if got := pathsNaming(filepath.Join(root, "none"), id, true); len(got) != 0 {
		t.Errorf("missing root: %q", got)
	}
}
