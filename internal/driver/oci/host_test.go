package oci

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
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

func TestCgroupLayout(t *testing.T) {
	tests := []struct {
		name        string
		table       string
		layout      string
		mounts      []string
		unified     []string
		wantParseOK bool
	}{
		{"hybrid", mountsHybrid, cgroupHybrid,
			[]string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu,cpuacct"},
			[]string{"/sys/fs/cgroup/unified"}, true},
		{"v2", mountsV2, cgroupV2, []string{"/sys/fs/cgroup"}, []string{"/sys/fs/cgroup"}, true},
		{"v1", mountsV1, cgroupV1, []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"}, nil, true},
		{"none", "27 1 8:1 / / rw - ext4 /dev/sda1 rw\n", cgroupNone, nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table, err := parseMountInfo(strings.NewReader(tc.table))
			if err != nil {
				t.Fatal(err)
			}
			ci := cgroupLayout(table)
			if ci.Layout != tc.layout {
				t.Errorf("layout %q, want %q", ci.Layout, tc.layout)
			}
			if !reflect.DeepEqual(ci.Mounts, tc.mounts) {
				t.Errorf("mounts %q, want %q", ci.Mounts, tc.mounts)
			}
			if !reflect.DeepEqual(ci.Unified, tc.unified) {
				t.Errorf("unified %q, want %q", ci.Unified, tc.unified)
			}
		})
	}
}

func TestParseMountInfo(t *testing.T) {
	table, err := parseMountInfo(strings.NewReader(mountsHybrid))
	if err != nil {
		t.Fatal(err)
	}
	last := table[len(table)-1]
	if last.Point != "/run/isobench/isobench-a b/rootfs" || last.FSType != "overlay" || last.Source != "isobench-a b" {
		t.Errorf("escaped line parsed as %+v", last)
	}
	if got := mountsAt(table, "/run/isobench/isobench-a b"); !reflect.DeepEqual(got, []string{"/run/isobench/isobench-a b/rootfs"}) {
		t.Errorf("mountsAt = %q", got)
	}
	if got := mountsAt(table, "/run/isobench/isobench-a"); len(got) != 0 {
		t.Errorf("mountsAt of a name prefix = %q, want none", got)
	}
	for _, bad := range []string{"1 2 3\n", "1 2 0:1 / /x rw - \n"} {
		if _, err := parseMountInfo(strings.NewReader(bad)); err == nil {
			t.Errorf("parseMountInfo(%q) accepted a bad line", bad)
		}
	}
	// The real table of this process parses.
	if _, err := readMountInfo(); err != nil {
		t.Fatal(err)
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
	}
	for in, want := range tests {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"quiet", "isobench-a\nother\n\n", []string{"isobench-a", "other"}},
		{"empty", "", nil},
		{"table", "ID   PID   STATUS\nisobench-a 12 running\n", []string{"isobench-a"}},
		{"crun table", "NAME PID STATUS BUNDLE\nisobench-b 3 running /x\n", []string{"isobench-b"}},
		{"header only", "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseList(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseList = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	tests := map[string]string{
		"runc version 1.1.5+ds1\ncommit: x\nspec: 1.0.2-dev\n": "1.1.5+ds1",
		"crun version 1.8.1\ncommit: f8a\n":                    "1.8.1",
		"runsc version 0.0~20221219.0\nspec: 1.0.2-dev\n":      "0.0~20221219.0",
		"youki version 0.3.0\ncommit: abc\n":                   "0.3.0",
		"something else\n":                                     "something else",
	}
	for in, want := range tests {
		if got := parseVersion(in); got != want {
			t.Errorf("parseVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSaysNotExist(t *testing.T) {
	tests := map[string]bool{
		`time="x" level=error msg="container does not exist"`:                true,
		"loading container: file does not exist":                             true,
		"error opening file `/run/crun/x/status`: No such file or directory": true,
		"container not running":                                              false,
		// runsc, for ids that start one another: not a missing container.
		`loading container: id "isobench-r-27" is ambiguous and could refer to multiple containers`: false,
		"permission denied": false,
	}
	for in, want := range tests {
		if got := saysNotExist(in); got != want {
			t.Errorf("saysNotExist(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestValidateSpec(t *testing.T) {
	rootfs := t.TempDir()
	img := &image.Image{ID: "t", Rootfs: rootfs}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		spec    driver.Spec
		wantErr string
	}{
		{"ok", driver.Spec{ID: "isobench-a", Image: img}, ""},
		{"ok tmpfs", driver.Spec{ID: "isobench-a.b_c", Image: img, Scratch: driver.ScratchTmpfs, CPUs: 1, MemoryBytes: 1 << 30}, ""},
		{"no prefix", driver.Spec{ID: "a", Image: img}, "does not start with"},
		{"prefix only", driver.Spec{ID: driver.IDPrefix, Image: img}, "does not start with"},
		{"too long", driver.Spec{ID: driver.IDPrefix + strings.Repeat("x", 60), Image: img}, "longer than"},
		{"space", driver.Spec{ID: "isobench-a b", Image: img}, "not allowed"},
		{"dot dot slash", driver.Spec{ID: "isobench-../x", Image: img}, "not allowed"},
		{"no image", driver.Spec{ID: "isobench-a"}, "no image"},
		{"relative rootfs", driver.Spec{ID: "isobench-a", Image: &image.Image{Rootfs: "rootfs"}}, "absolute"},
		{"colon rootfs", driver.Spec{ID: "isobench-a", Image: &image.Image{Rootfs: "/x:y"}}, "overlayfs"},
		{"file rootfs", driver.Spec{ID: "isobench-a", Image: &image.Image{Rootfs: file}}, "not a directory"},
		{"bad scratch", driver.Spec{ID: "isobench-a", Image: img, Scratch: "disk"}, "unknown scratch"},
		{"negative cpus", driver.Spec{ID: "isobench-a", Image: img, CPUs: -1}, "negative CPU"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := validateSpec(tc.spec)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestRecords(t *testing.T) {
	dir := t.TempDir()
	r := record{Version: recordVersion, Runtime: "runc", ID: "isobench-r1", Dir: "/x/isobench-r1", Mounts: []string{"/x/isobench-r1/rootfs"}, Created: time.Unix(1, 0).UTC(), OwnerPID: os.Getpid()}
	start, ok := procStartTime(os.Getpid())
	if !ok {
		t.Fatal("cannot read own start time")
	}
	r.OwnerStart = start
	if err := writeRecord(dir, r); err != nil {
		t.Fatal(err)
	}
	if err := writeRecord(dir, r); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second writeRecord: %v, want an error saying it exists", err)
	}
	// A file whose name and id disagree is reported, not used.
	if err := os.WriteFile(filepath.Join(recordDir(dir), "isobench-other.json"), []byte(`{"id":"isobench-r1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(recordDir(dir), "isobench-junk.json"), []byte(`{`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readRecords(dir)
	if err == nil {
		t.Error("readRecords did not report the bad files")
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], r) {
		t.Fatalf("readRecords = %+v, want [%+v]", got, r)
	}
	if !got[0].ownerAlive() {
		t.Error("this process is not seen as alive")
	}
	dead := r
	dead.OwnerStart++
	if dead.ownerAlive() {
		t.Error("an owner with another start time is seen as alive")
	}
	if err := removeRecord(dir, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := removeRecord(dir, r.ID); err != nil {
		t.Errorf("removing a missing record: %v", err)
	}
	if got, _ := readRecords(filepath.Join(dir, "none")); len(got) != 0 {
		t.Errorf("records in a missing dir: %v", got)
	}
}

func TestCleanups(t *testing.T) {
	var order []string
	var c cleanups
	c.push("a", func() error { order = append(order, "a"); return nil })
	b := c.push("b", func() error { order = append(order, "b"); return os.ErrPermission })
	c.push("c", func() error { order = append(order, "c"); return nil })
	err := c.run()
	if !reflect.DeepEqual(order, []string{"c", "b", "a"}) {
		t.Errorf("order %v", order)
	}
	if err == nil || !strings.Contains(err.Error(), "b: permission denied") {
		t.Errorf("error %v", err)
	}
	if !b.done {
		t.Error("failed step not marked done")
	}
	if err := c.run(); err != nil || len(order) != 3 {
		t.Errorf("second run: %v, order %v", err, order)
	}

	// The record's removal waits for everything else, across runs.
	var d cleanups
	removed := false
	d.pushLast("record", func() error { removed = true; return nil })
	d.push("mount", func() error { return os.ErrExist })
	if err := d.run(); err == nil || !strings.Contains(err.Error(), "record: kept") || removed {
		t.Errorf("with a failed step: err %v, record removed %v", err, removed)
	}
	if err := d.run(); err == nil || removed {
		t.Errorf("second run after a failed step: err %v, record removed %v", err, removed)
	}
	var e cleanups
	e.pushLast("record", func() error { removed = true; return nil })
	e.push("mount", func() error { return nil })
	if err := e.run(); err != nil || !removed {
		t.Errorf("all fine: err %v, record removed %v", err, removed)
	}
}

func TestRingBufferAndTail(t *testing.T) {
	r := &ringBuffer{max: 8}
	r.Write([]byte("0123456789"))
	r.Write([]byte("ab"))
	if r.String() != "456789ab" {
		t.Errorf("ring = %q", r.String())
	}
	if got := tail("line1\nline2\nline3", 9); got != "…line3" {
		t.Errorf("tail = %q", got)
	}
	if got := tail("  short \n", 100); got != "short" {
		t.Errorf("tail = %q", got)
	}
}

func TestRuntimeCommand(t *testing.T) {
	runsc, _ := flavorOf("runsc")
	crun, _ := flavorOf("crun")
	youki, _ := flavorOf("youki")
	runc, _ := flavorOf("runc")
	tests := []struct {
		name     string
		rt       runtime
		args     []string
		wantPath string
		wantArgs []string
		newNS    bool
	}{
		{"runsc run gets globals", runtime{fl: runsc, binary: "/b/runsc", globals: []string{"--platform=ptrace", "--network=none"}},
			[]string{"run", "--detach", "x"}, "/b/runsc", []string{"/b/runsc", "--platform=ptrace", "--network=none", "run", "--detach", "x"}, false},
		{"runsc state does not", runtime{fl: runsc, binary: "/b/runsc", globals: []string{"--platform=ptrace"}},
			[]string{"state", "x"}, "/b/runsc", []string{"/b/runsc", "state", "x"}, false},
		{"crun hybrid", runtime{fl: crun, binary: "/b/crun", hide: []string{"/sys/fs/cgroup/unified"}, sh: "/bin/sh"},
			[]string{"exec", "x", "true"}, "/bin/sh", []string{"/bin/sh", "-c", hideScript, "sh", "1", "/sys/fs/cgroup/unified", "/b/crun", "exec", "x", "true"}, true},
		{"runc plain", runtime{fl: runc, binary: "/b/runc"},
			[]string{"delete", "--force", "x"}, "/b/runc", []string{"/b/runc", "delete", "--force", "x"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := tc.rt.command(t.Context(), tc.args...)
			if cmd.Path != tc.wantPath || !reflect.DeepEqual(cmd.Args, tc.wantArgs) {
				t.Errorf("command = %s %q, want %s %q", cmd.Path, cmd.Args, tc.wantPath, tc.wantArgs)
			}
			newNS := cmd.SysProcAttr != nil && cmd.SysProcAttr.Unshareflags != 0
			if newNS != tc.newNS {
				t.Errorf("private mount namespace = %v, want %v", newNS, tc.newNS)
			}
		})
	}
	execTests := []struct {
		rt   runtime
		want []string
	}{
		{runtime{fl: runc}, []string{"exec", "--pid-file", "/p", "x", "/bin/sh", "-c", "exit 3"}},
		{runtime{fl: runsc}, []string{"exec", "--internal-pid-file", "/p", "x", "/bin/sh", "-c", "exit 3"}},
		{runtime{fl: youki}, []string{"exec", "--pid-file", "/p", "x", "--", "/bin/sh", "-c", "exit 3"}},
	}
	for _, tc := range execTests {
		if got := tc.rt.execArgs("x", "/p", []string{"/bin/sh", "-c", "exit 3"}); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s execArgs = %q, want %q", tc.rt.fl.name, got, tc.want)
		}
	}
}

func TestMentionsID(t *testing.T) {
	tests := []struct {
		s, id string
		want  bool
	}{
		{"runsc-sandbox boot --bundle=/r/isobench-a1 isobench-a1", "isobench-a1", true},
		{"runsc-gofer gofer --bundle /r/isobench-a1/x", "isobench-a1", true},
		{"runsc-sandbox boot isobench-a10", "isobench-a1", false},
		{"x isobench-a10 isobench-a1", "isobench-a1", true},
		{"xisobench-a1", "isobench-a1", false},
		{"isobench-a1", "isobench-a1", true},
		{"anything", "", false},
	}
	for _, tc := range tests {
		if got := mentionsID(tc.s, tc.id); got != tc.want {
			t.Errorf("mentionsID(%q, %q) = %v, want %v", tc.s, tc.id, got, tc.want)
		}
	}
}
