package oci

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isobench/isobench/internal/driver"
)

func hasNamespace(s *specs.Spec, typ specs.LinuxNamespaceType) bool {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == typ {
			return ns.Path == ""
		}
	}
	return false
}

func mountOf(s *specs.Spec, dest string) (specs.Mount, bool) {
	var found specs.Mount
	ok := false
	for _, m := range s.Mounts {
		if m.Destination == dest {
			found, ok = m, true
		}
	}
	return found, ok
}

func TestBundleSpec(t *testing.T) {
	base := bundleParams{ID: "isobench-x", Args: []string{"/.isobench/agent", "init"}}
	tests := []struct {
		name    string
		mod     func(*bundleParams)
		check   func(*testing.T, *specs.Spec)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, s *specs.Spec) {
			if s.Hostname != "isobench-x" {
				t.Errorf("hostname %q", s.Hostname)
			}
			if s.Linux.CgroupsPath != "/isobench/isobench-x" {
				t.Errorf("cgroupsPath %q", s.Linux.CgroupsPath)
			}
			for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace, specs.NetworkNamespace} {
				if !hasNamespace(s, ns) {
					t.Errorf("no new %s namespace", ns)
				}
			}
			if s.Root.Path != "rootfs" || s.Root.Readonly {
				t.Errorf("root %+v, want writable rootfs", s.Root)
			}
			if _, ok := mountOf(s, driver.ScratchPath); ok {
				t.Error("rootfs scratch has a mount")
			}
			for _, p := range []string{"/proc", "/dev", "/sys", "/dev/pts", "/dev/shm"} {
				if _, ok := mountOf(s, p); !ok {
					t.Errorf("no %s mount", p)
				}
			}
			if s.Linux.Resources.CPU != nil || s.Linux.Resources.Memory != nil {
				t.Error("resources set without being asked")
			}
			if len(s.Linux.MaskedPaths) == 0 || len(s.Linux.ReadonlyPaths) == 0 {
				t.Error("no masked or read-only paths")
			}
			if s.Process.Terminal || s.Process.Args[0] != "/.isobench/agent" || !s.Process.NoNewPrivileges {
				t.Errorf("process %+v", s.Process)
			}
			if !slices.Contains(s.Process.Capabilities.Bounding, "CAP_KILL") || slices.Contains(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
				t.Errorf("capabilities %v", s.Process.Capabilities.Bounding)
			}
			if s.Annotations != nil {
				t.Errorf("annotations %v without labels", s.Annotations)
			}
		}},
		{name: "network", mod: func(p *bundleParams) { p.NetNS = "/run/netns/isobench-x" }, check: func(t *testing.T, s *specs.Spec) {
			n := 0
			for _, ns := range s.Linux.Namespaces {
				if ns.Type == specs.NetworkNamespace {
					n++
					if ns.Path != "/run/netns/isobench-x" {
						t.Errorf("network namespace path %q, want the sandbox's link's", ns.Path)
					}
				}
			}
			if n != 1 {
				t.Errorf("%d network namespaces, want 1", n)
			}
		}},
		{name: "volume", mod: func(p *bundleParams) { p.Scratch = driver.ScratchVolume; p.VolumeDir = "/run/isobench/x/volume" }, check: func(t *testing.T, s *specs.Spec) {
			m, ok := mountOf(s, driver.ScratchPath)
			if !ok || m.Type != "bind" || m.Source != "/run/isobench/x/volume" || !slices.Contains(m.Options, "rbind") {
				t.Errorf("volume mount %+v", m)
			}
		}},
		{name: "tmpfs", mod: func(p *bundleParams) { p.Scratch = driver.ScratchTmpfs }, check: func(t *testing.T, s *specs.Spec) {
			m, ok := mountOf(s, driver.ScratchPath)
			if !ok || m.Type != "tmpfs" {
				t.Errorf("tmpfs mount %+v", m)
			}
		}},
		{name: "explicit rootfs", mod: func(p *bundleParams) { p.Scratch = driver.ScratchRootfs }, check: func(t *testing.T, s *specs.Spec) {
			if _, ok := mountOf(s, driver.ScratchPath); ok {
				t.Error("rootfs scratch has a mount")
			}
		}},
		{name: "resources", mod: func(p *bundleParams) { p.CPUs = 2; p.MemoryBytes = 256 << 20 }, check: func(t *testing.T, s *specs.Spec) {
			c := s.Linux.Resources.CPU
			if c == nil || *c.Quota != 200000 || *c.Period != 100000 {
				t.Errorf("cpu %+v", c)
			}
			m := s.Linux.Resources.Memory
			if m == nil || *m.Limit != 256<<20 {
				t.Errorf("memory %+v", m)
			}
		}},
		{name: "labels", mod: func(p *bundleParams) { p.Labels = map[string]string{"isobench.run": "r1"} }, check: func(t *testing.T, s *specs.Spec) {
			if s.Annotations["isobench.run"] != "r1" {
				t.Errorf("annotations %v", s.Annotations)
			}
		}},
		{name: "volume without dir", mod: func(p *bundleParams) { p.Scratch = driver.ScratchVolume }, wantErr: "absolute host directory"},
		{name: "unknown scratch", mod: func(p *bundleParams) { p.Scratch = "nfs" }, wantErr: "unknown scratch kind"},
		{name: "negative cpus", mod: func(p *bundleParams) { p.CPUs = -2 }, wantErr: "negative CPU"},
		{name: "negative memory", mod: func(p *bundleParams) { p.MemoryBytes = -1 }, wantErr: "negative memory"},
		{name: "empty label key", mod: func(p *bundleParams) { p.Labels = map[string]string{"": "x"} }, wantErr: "empty key"},
		{name: "no args", mod: func(p *bundleParams) { p.Args = nil }, wantErr: "no process arguments"},
		{name: "no id", mod: func(p *bundleParams) { p.ID = "" }, wantErr: "empty id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			if tc.mod != nil {
				tc.mod(&p)
			}
			s, err := bundleSpec(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
			// What is written reads back the same.
			dir := t.TempDir()
			if err := writeSpec(dir, s); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			var back specs.Spec
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Hostname != s.Hostname || len(back.Mounts) != len(s.Mounts) || back.Version != ociVersion {
				t.Errorf("config.json reads back differently: %+v", back)
			}
		})
	}
}
