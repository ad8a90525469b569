package hostinfo

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParsers feeds the same text to every parser of host files: none may
// panic, and what they return must keep their documented bounds.
func FuzzParsers(f *testing.F) {
	for _, rel := range []string{"etc/os-release", "proc/cpuinfo", "proc/meminfo", "proc/loadavg", "proc/self/mountinfo", "sys/devices/system/cpu/online"} {
		b, err := os.ReadFile(filepath.Join("testdata", "debian12-kvm", rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("0-3,8,10-11")
	f.Add("PRETTY_NAME=\"x\\\"")
	f.Fuzz(func(t *testing.T, text string) {
		ParseOSRelease(text)
		ci := ParseCPUInfo(text)
		if ci.Cores < 0 || ci.Sockets < 0 || ci.Sockets > ci.Cores && ci.Cores > 0 && ci.Sockets > ci.Processors+ci.Cores {
			t.Errorf("ParseCPUInfo: %+v", ci)
		}
		if cpus, err := ParseCPUList(text); err == nil && len(cpus) > maxCPUs {
			t.Errorf("ParseCPUList: %d CPUs", len(cpus))
		}
		if n, err := ParseMemTotal(text); err == nil && n <= 0 {
			t.Errorf("ParseMemTotal = %d without error", n)
		}
		if l, err := ParseLoadavg(text); err == nil && (len(l) != 3 || l[0] < 0 || l[1] < 0 || l[2] < 0) {
			t.Errorf("ParseLoadavg = %v without error", l)
		}
		switch CgroupLayout(text) {
		case "", CgroupV1, CgroupV2, CgroupHybrid:
		default:
			t.Errorf("CgroupLayout returned an unknown layout")
		}
	})
}
