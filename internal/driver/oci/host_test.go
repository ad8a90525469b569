package oci

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/image"
)

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
	start, ok := driverkit.ProcStartTime(os.Getpid())
	if !ok {
		t.Fatal("cannot read own start time")
	}
	r.OwnerStart = start
	if err := stateRecords(dir).Create(r); err != nil {
		t.Fatal(err)
	}
	if err := stateRecords(dir).Create(r); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second writeRecord: %v, want an error saying it exists", err)
	}
	// A file whose name and id disagree is reported, not used.
	if err := os.WriteFile(filepath.Join(recordDir(dir), "isobench-other.json"), []byte(`{"id":"isobench-r1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(recordDir(dir), "isobench-junk.json"), []byte(`{`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := stateRecords(dir).ReadAll()
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
	if err := stateRecords(dir).Remove(r.ID); err != nil {
		t.Fatal(err)
	}
	if err := stateRecords(dir).Remove(r.ID); err != nil {
		t.Errorf("removing a missing record: %v", err)
	}
	if got, _ := stateRecords(filepath.Join(dir, "none")).ReadAll(); len(got) != 0 {
		t.Errorf("records in a missing dir: %v", got)
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
