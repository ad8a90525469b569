package driverkit

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Mount tables in the shape of the three cgroup layouts.
const (
	mountsHybrid = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
31 27 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
32 31 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
33 31 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,xattr,name=systemd
34 31 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
35 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
90 27 0:50 / /run/isobench/isobench-a\040b/rootfs rw,relatime - overlay isobench-a\040b rw,lowerdir=/x
`
	mountsV2 = `27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
31 27 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate
`
	mountsV1 = `27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
34 31 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
35 31 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,pids
`
)

func readTable(t *testing.T, name string) []Mount {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table, err := ParseMountInfo(f)
	if err != nil {
		t.Fatal(err)
	}
	return table
}

// TestParseMountInfoCaptured checks the parser and the selections on the
// mount tables of real hosts.
func TestParseMountInfoCaptured(t *testing.T) {
	tests := []struct {
		file    string
		n       int
		last    Mount
		layout  string
		cgroups int
		hybrid  []string
		at      string
		wantAt  []string
	}{
		{"mountinfo.txt", 18,
			Mount{Point: "/var/lib/isobench/run/isobench-x/rootfs with space", FSType: "overlay", Source: "isobench-x"},
			CgroupHybrid, 10, []string{"/sys/fs/cgroup/unified"},
			"/dev", []string{"/dev", "/dev/shm", "/dev/pts"}},
		{"mountinfo-hybrid.txt", 20,
			Mount{Point: "/tmp/isobench-mi test", FSType: "tmpfs", Source: "isobench-mi"},
			CgroupHybrid, 10, []string{"/sys/fs/cgroup/unified"},
			"/tmp/isobench-mi test", []string{"/tmp/isobench-mi test"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			table := readTable(t, tc.file)
			if len(table) != tc.n {
				t.Fatalf("%d mounts, want %d", len(table), tc.n)
			}
			if last := table[len(table)-1]; last != tc.last {
				t.Errorf("last mount %+v, want %+v", last, tc.last)
			}
			cg := Cgroups(table)
			if cg.Layout != tc.layout || len(cg.Mounts) != tc.cgroups {
				t.Errorf("cgroups %s with %d mounts, want %s with %d", cg.Layout, len(cg.Mounts), tc.layout, tc.cgroups)
			}
			if got := cg.HybridUnified(); !reflect.DeepEqual(got, tc.hybrid) {
				t.Errorf("HybridUnified = %q, want %q", got, tc.hybrid)
			}
			if got := MountsAt(table, tc.at); !reflect.DeepEqual(got, tc.wantAt) {
				t.Errorf("MountsAt(%q) = %q, want %q", tc.at, got, tc.wantAt)
			}
		})
	}
}

func TestMountSelections(t *testing.T) {
	table := readTable(t, "mountinfo-hybrid.txt")
	if got := MountsUnder(table, "/tmp/isobench-mi test"); !reflect.DeepEqual(got, []string{"/tmp/isobench-mi test"}) {
		t.Errorf("mount with an escaped space: %q", got)
	}
	if got := MountsMentioning(table, "isobench-mi"); len(got) != 1 {
		t.Errorf("MountsMentioning = %q", got)
	}
	if got := MountsUnder(table, "/sys/fs/cgroup"); len(got) != 11 || got[0] != "/sys/fs/cgroup/unified" || got[10] != "/sys/fs/cgroup" {
		t.Errorf("MountsUnder(/sys/fs/cgroup) = %q, want 11 deepest (latest) first", got)
	}
	if !IsMountPoint(table, "/sys/fs/cgroup/unified") || IsMountPoint(table, "/sys/fs") {
		t.Error("IsMountPoint disagrees with the table")
	}

	hybrid, err := ParseMountInfo(strings.NewReader(mountsHybrid))
	if err != nil {
		t.Fatal(err)
	}
	last := hybrid[len(hybrid)-1]
	if last.Point != "/run/isobench/isobench-a b/rootfs" || last.FSType != "overlay" || last.Source != "isobench-a b" {
		t.Errorf("escaped line parsed as %+v", last)
	}
	if got := MountsAt(hybrid, "/run/isobench/isobench-a b"); !reflect.DeepEqual(got, []string{"/run/isobench/isobench-a b/rootfs"}) {
		t.Errorf("MountsAt = %q", got)
	}
	if got := MountsAt(hybrid, "/run/isobench/isobench-a"); len(got) != 0 {
		t.Errorf("MountsAt of a name prefix = %q, want none", got)
	}
	// The real table of this process parses.
	if _, err := ReadMountInfo(); err != nil {
		t.Fatal(err)
	}
}

func TestParseMountInfoBad(t *testing.T) {
	for _, bad := range []string{
		"1 2 3\n",
		"1 2 0:1 / /x rw - \n",
		"no separator here\n",
		"1 2 - x\n",
		"22 27 0:21 / /proc rw,relatime proc proc rw",
		"22 27 0:21 / /proc rw -",
	} {
		if _, err := ParseMountInfo(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ParseMountInfo(%q): error %v, want one naming line 1", bad, err)
		}
	}
	if _, err := ParseMountInfo(strings.NewReader("27 1 8:1 / / rw - ext4 /dev/sda1 rw\n\nbad\n")); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad third line: error %v, want one naming line 3", err)
	}
}

func TestCgroupLayout(t *testing.T) {
	tests := []struct {
		name    string
		table   string
		layout  string
		mounts  []string
		unified []string
		hybrid  []string
	}{
		{"hybrid", mountsHybrid, CgroupHybrid,
			[]string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu,cpuacct"},
			[]string{"/sys/fs/cgroup/unified"}, []string{"/sys/fs/cgroup/unified"}},
		{"v2", mountsV2, CgroupV2, []string{"/sys/fs/cgroup"}, []string{"/sys/fs/cgroup"}, nil},
		{"v1", mountsV1, CgroupV1, []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"}, nil, nil},
		{"none", "27 1 8:1 / / rw - ext4 /dev/sda1 rw\n", CgroupNone, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table, err := ParseMountInfo(strings.NewReader(tc.table))
			if err != nil {
				t.Fatal(err)
			}
			ci := Cgroups(table)
			if ci.Layout != tc.layout {
				t.Errorf("layout %q, want %q", ci.Layout, tc.layout)
			}
			if !reflect.DeepEqual(ci.Mounts, tc.mounts) {
				t.Errorf("mounts %q, want %q", ci.Mounts, tc.mounts)
			}
			if !reflect.DeepEqual(ci.Unified, tc.unified) {
				t.Errorf("unified %q, want %q", ci.Unified, tc.unified)
			}
			if got := ci.HybridUnified(); !reflect.DeepEqual(got, tc.hybrid) {
				t.Errorf("HybridUnified %q, want %q", got, tc.hybrid)
			}
		})
	}
}

func TestUnescapeOctal(t *testing.T) {
	tests := map[string]string{
		`a\040b`:    "a b",
		`a\134b`:    `a\b`,
		`tab\011`:   "tab\t",
		`plain`:     "plain",
		`trail\04`:  `trail\04`,
		`bad\09x`:   `bad\09x`,
		`\040\040x`: "  x",
		`big\777`:   `big\777`,
	}
	for in, want := range tests {
		if got := UnescapeOctal(in); got != want {
			t.Errorf("UnescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnder(t *testing.T) {
	tests := []struct {
		path, dir string
		want      bool
	}{
		{"/a/b", "/a", true},
		{"/a", "/a", true},
		{"/a/", "/a", true},
		{"/ab", "/a", false},
		{"/a/../b", "/a", false},
		{"/", "/", true},
	}
	for _, tc := range tests {
		if got := Under(tc.path, tc.dir); got != tc.want {
			t.Errorf("Under(%q, %q) = %v, want %v", tc.path, tc.dir, got, tc.want)
		}
	}
}

func FuzzParseMountInfo(f *testing.F) {
	for _, name := range []string{"mountinfo.txt", "mountinfo-hybrid.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("41 31 0:38 / /a\\040b rw - cgroup2 cgroup2 rw\n")
	f.Add("41 31 0:38 / /a\\04 rw shared:1 - x\n")
	f.Fuzz(func(t *testing.T, s string) {
		table, err := ParseMountInfo(strings.NewReader(s))
		if err != nil {
			if !strings.Contains(err.Error(), "mountinfo") {
				t.Errorf("error %q does not say it is about mountinfo", err)
			}
			return
		}
		for _, m := range table {
			if m.FSType == "" || m.Point == "" {
				t.Errorf("mount without a type or a point: %+v", m)
			}
		}
		// What the selections return comes from the table.
		for _, m := range table {
			for _, p := range MountsAt(table, m.Point) {
				if !IsMountPoint(table, p) {
					t.Errorf("MountsAt returned %q, not in the table", p)
				}
			}
		}
	})
}
