package lxc

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestBuildConfig(t *testing.T) {
	base := configParams{
		ID:         "isobench-golden",
		Includes:   []string{"/etc/lxc/default.conf", "/usr/share/lxc/config/common.conf"},
		Rootfs:     "/var/lib/isobench/run/isobench-golden/rootfs",
		ConsoleLog: "/var/lib/isobench/run/isobench-golden/console.log",
		LogFile:    "/var/lib/isobench/run/isobench-golden/lxc.log",
		Cgroup:     "hybrid",
		Owner:      "isobench process 42",
	}
	tests := []struct {
		name   string
		modify func(*configParams)
	}{
		{"default", func(*configParams) {}},
		{"volume-limits-v1", func(p *configParams) {
			p.Scratch, p.VolumeDir = driver.ScratchVolume, "/var/lib/isobench/run/isobench-golden/volume"
			p.CPUs, p.MemoryBytes = 2, 512<<20
			p.Labels = map[string]string{"run": "r1", "cell": "cpu"}
		}},
		{"tmpfs-limits-v2-network", func(p *configParams) {
			p.Scratch, p.Cgroup, p.NetNS = driver.ScratchTmpfs, "v2", "/run/netns/isobench-golden"
			p.CPUs, p.MemoryBytes = 1, 1<<30
			p.Includes = nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			tc.modify(&p)
			got, err := buildConfig(p)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "config-"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("config differs from %s (run with -update to accept):\n%s", golden, got)
			}
			rootfs, marked, err := configRootfs(got)
			if err != nil || !marked || rootfs != p.Rootfs {
				t.Errorf("configRootfs = %q, %v, %v; want %q, true", rootfs, marked, err, p.Rootfs)
			}
		})
	}
}

func TestBuildConfigBad(t *testing.T) {
	ok := configParams{ID: "isobench-x", Rootfs: "/r", ConsoleLog: "/c", LogFile: "/l"}
	tests := []struct {
		name   string
		modify func(*configParams)
		want   string
	}{
		{"name with a space", func(p *configParams) { p.ID = "isobench x" }, "bad container name"},
		{"relative rootfs", func(p *configParams) { p.Rootfs = "r" }, "must be absolute"},
		{"include with a newline", func(p *configParams) { p.Includes = []string{"/a\nlxc.init.cmd = /evil"} }, "without whitespace"},
		{"volume without a directory", func(p *configParams) { p.Scratch = driver.ScratchVolume }, "volume scratch"},
		{"unknown scratch", func(p *configParams) { p.Scratch = "floppy" }, "unknown scratch kind"},
		{"label with a newline", func(p *configParams) { p.Labels = map[string]string{"a": "b\nlxc.init.cmd = /evil"} }, "line break"},
		{"negative cpus", func(p *configParams) { p.CPUs = -1 }, "negative CPU"},
		{"negative memory", func(p *configParams) { p.MemoryBytes = -1 }, "negative memory"},
		{"relative netns", func(p *configParams) { p.NetNS = "netns/x" }, "network namespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.modify(&p)
			_, err := buildConfig(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestConfigRootfs(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		rootfs string
		marked bool
		err    bool
	}{
		{"lxc-create style", "lxc.include = /usr/share/lxc/config/common.conf\nlxc.rootfs.path = dir:/var/lib/lxc/c1/rootfs\n", "/var/lib/lxc/c1/rootfs", false, false},
		{"no prefix", "lxc.rootfs.path=/x\n", "/x", false, false},
		{"marked", configMarker + "x\nlxc.rootfs.path = dir:/y\n", "/y", true, false},
		{"none", "lxc.uts.name = x\n", "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rootfs, marked, err := configRootfs(tc.in)
			if rootfs != tc.rootfs || marked != tc.marked || (err != nil) != tc.err {
				t.Errorf("got %q, %v, %v", rootfs, marked, err)
			}
		})
	}
}

func FuzzConfigRootfs(f *testing.F) {
	for _, name := range []string{"default", "volume-limits-v1"} {
		b, err := os.ReadFile(filepath.Join("testdata", "config-"+name+".golden"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		rootfs, _, err := configRootfs(s)
		if err == nil && rootfs == "" {
			t.Error("no error and no rootfs")
		}
	})
}
