package doctor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/runner"
)

// doctorProbes are probe results as drivers return them, long ones
// included (an error chain of 300 columns, a version string with spaces,
// many features and a warning).
func doctorProbes() []runner.Probe {
	long := "incus-vm: Incus cannot run VMs here: Failed creating instance record: Instance type \"virtual-machine\" is not supported on this server: " + strings.Repeat("very long cause ", 12) + "vhost_vsock kernel module not loaded"
	return []runner.Probe{
		{Name: "host", Info: driver.Info{Name: "host", Version: "Linux 6.1.0-18-amd64", Isolation: "none", Features: map[string]string{"network": "veth"}}},
		{Name: "runsc", Info: driver.Info{Name: "runsc", Version: "0.0~20221219.0", Isolation: "user-kernel",
			Features: map[string]string{"platform": "ptrace", "binary": "/usr/bin/runsc", "platforms_failed": strings.Repeat("systrap: unknown platform; ", 10)},
			Warnings: []string{"gVisor platform ptrace: the slowest gVisor platform; syscall-heavy results overstate gVisor's cost on systrap or kvm"}}},
		{Name: "qemu-microvm", Info: driver.Info{Name: "qemu-microvm", Version: "10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)", Isolation: "vm",
			Features: map[string]string{"accel": "tcg", "kvm_reason": strings.Repeat("no KVM: the probe guest hung ", 8)}}},
		{Name: "incus-vm", Err: driver.NotSupported("incus-vm", "%s", strings.TrimPrefix(long, "incus-vm: "))},
		{Name: "firecracker", Err: driver.NotSupported("firecracker", "no firecracker binary in PATH (not packaged: install a Firecracker release); no KVM (QEMU cannot run a guest with it)")},
		{Name: "docker", Err: errors.New("docker: starting a private dockerd: " + strings.Repeat("x", 200))},
	}
}

func doctorTestReport() Report {
	probes := doctorProbes()
	var names []string
	for _, p := range probes {
		names = append(names, p.Name)
	}
	rep := NewReport(Host{}, names, probes)
	rep.Tools = []Tool{
		{Name: "kvm", Found: true, Details: "a probe guest ran in 120ms", uses: []string{"qemu-microvm", "firecracker"}},
		{Name: "guest kernel", Found: true, Details: "6.1.0-18-amd64 (package linux-image-6.1.0-18-amd64); fits qemu-microvm, firecracker", uses: []string{"qemu-microvm", "firecracker"}},
		{Name: "fio", Found: false, Details: "not in PATH: isobench setup installs it (fio workload)"},
	}
	linkTools(rep.Tools, rep.Runtimes)
	return rep
}

func TestDoctorShortForm(t *testing.T) {
	rep := doctorTestReport()
	for _, width := range []int{100, 80} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteShort(&b, rep, width); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			for _, l := range lines {
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("line of %d columns, over %d: %q", n, width, l)
				}
			}
			if !strings.HasPrefix(lines[0], "RUNTIME") || !strings.Contains(lines[0], "WORKS") || !strings.Contains(lines[0], "VERSION") {
				t.Errorf("header %q", lines[0])
			}
			// One line per runtime, in order, each with its name, status
			// and short version first.
			want := []struct{ name, status, version, has string }{
				{"host", "yes", "6.1.0-18-amd64", "the baseline, no isolation"},
				{"runsc", "yes", "0.0~20221219.0", "platform ptrace; 1 warning"},
				{"qemu-microvm", "yes", "10.0.2", "accel tcg"},
				{"incus-vm", "no", "-", "Incus cannot run VMs here"},
				{"firecracker", "no", "-", "no firecracker binary in PATH (+1 more, -v)"},
				{"docker", "error", "-", "…"},
			}
			for i, w := range want {
				f := strings.Fields(lines[1+i])
				if len(f) < 4 || f[0] != w.name || f[1] != w.status || f[2] != w.version {
					t.Errorf("line %d = %q, want %s %s %s …", i+1, lines[1+i], w.name, w.status, w.version)
				}
				if !strings.Contains(lines[1+i], w.has) {
					t.Errorf("line %d = %q, want it to say %q", i+1, lines[1+i], w.has)
				}
			}
			if !strings.Contains(out, "\n3 of 6 runtimes work here") {
				t.Errorf("no summary line:\n%s", out)
			}
			// The tool found whose runtime fails says so.
			if !strings.Contains(out, "but firecracker does not work here") {
				t.Errorf("the tools do not say that firecracker, which they serve, fails:\n%s", out)
			}
			if strings.Contains(out, "vhost_vsock kernel module not loaded; ") {
				t.Errorf("the short form carries more than the first reason:\n%s", out)
			}
		})
	}
}

func TestDoctorLongForm(t *testing.T) {
	rep := doctorTestReport()
	var b bytes.Buffer
	if err := WriteLong(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"vhost_vsock kernel module not loaded",                         // a long reason, whole
		"why: no KVM (QEMU cannot run a guest with it)",                // every reason
		"warning: gVisor platform ptrace: the slowest gVisor platform", // warnings
		"platforms_failed: systrap",                                    // every feature
		"version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)",        // the whole version
		"but firecracker does not work here",                           // the tools agree
		strings.Repeat("x", 200),                                       // an error, whole
	} {
		if !strings.Contains(out, want) {
			t.Errorf("-v lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorJSON(t *testing.T) {
	rep := doctorTestReport()
	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SchemaVersion int `json:"schema_version"`
		Host          map[string]any
		Runtimes      []struct {
			Name     string
			Works    bool
			Status   string
			Version  string
			Reason   string
			Details  string
			Features map[string]string
			Warnings []string
		}
		Tools []struct {
			Name            string
			Found           bool
			Details         string
			RuntimesFailing []string `json:"runtimes_failing"`
		}
		Working, Total int
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("doctor --json does not parse: %v\n%s", err, b.String())
	}
	if doc.SchemaVersion != 1 || len(doc.Runtimes) != 6 || doc.Total != 6 || doc.Working != 3 || doc.Host == nil {
		t.Fatalf("document %+v", doc)
	}
	r := doc.Runtimes[1]
	if r.Name != "runsc" || !r.Works || r.Features["platform"] != "ptrace" || len(r.Warnings) != 1 || r.Reason == "" {
		t.Errorf("runsc %+v", r)
	}
	if f := doc.Runtimes[3]; f.Works || f.Status != "no" || !strings.Contains(f.Details, "vhost_vsock") || f.Features == nil || f.Warnings == nil {
		t.Errorf("incus-vm %+v", f)
	}
	if len(doc.Tools) != 3 || strings.Join(doc.Tools[0].RuntimesFailing, ",") != "firecracker" || doc.Tools[2].RuntimesFailing == nil {
		t.Errorf("tools %+v", doc.Tools)
	}
}

func TestShorten(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"no binary in PATH (not packaged: install it)", 20, "no binary in PATH"},
		{"doing a: doing b: the cause", 22, "doing a: … the cause"},
		{"abcdefghij", 5, "abcd…"},
	}
	for _, tc := range tests {
		if got := shorten(tc.in, tc.n); got != tc.want || utf8.RuneCountInString(got) > tc.n {
			t.Errorf("shorten(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
