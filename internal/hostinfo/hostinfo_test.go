package hostinfo

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/isobench/isobench/internal/warning"
)

// TestCaptureCapturedHost reads a host's files captured into testdata (a
// Debian 12 KVM guest with hybrid cgroups and no cpufreq).
func TestCaptureCapturedHost(t *testing.T) {
	info := Capture(t.Context(), Options{Root: filepath.Join("testdata", "debian12-kvm"), NoCommands: true})
	want := Info{
		OS: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.18.44-fc-v782", KernelBuild: "#1 SMP PREEMPT_DYNAMIC @0",
		Arch: runtime.GOARCH, CPUModel: "AMD EPYC", CPUs: 2, Cores: 2, Sockets: 1, SMT: "notsupported",
		MemoryBytes: 24683656 * 1024, Cgroup: CgroupHybrid, Virt: "unknown hypervisor",
		VirtEvidence: []string{"CPU flag: hypervisor"}, Load: []float64{1.77, 2.47, 3.10}, Go: runtime.Version(),
	}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("Capture =\n%+v\nwant\n%+v", info, want)
	}
	if w := info.Warnings(); len(w) != 1 || w[0].Code != warning.CodeHostLoad {
		t.Errorf("Warnings = %v, want one host-load warning (load 1.77 on 2 CPUs)", w)
	}
}

// TestCaptureThisHost reads the machine the test runs on and checks the
// facts against what the Go runtime and the kernel say.
func TestCaptureThisHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads Linux /proc and /sys")
	}
	info := Capture(t.Context(), Options{})
	var uts syscall.Utsname
	if err := syscall.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	var rel strings.Builder
	for _, c := range uts.Release {
		if c == 0 {
			break
		}
		rel.WriteByte(byte(c))
	}
	if info.Kernel != rel.String() {
		t.Errorf("Kernel = %q, uname says %q", info.Kernel, rel.String())
	}
	if info.CPUs < 1 || info.CPUs < runtime.NumCPU() {
		t.Errorf("CPUs = %d, but this process may use %d", info.CPUs, runtime.NumCPU())
	}
	if info.MemoryBytes < 64<<20 {
		t.Errorf("MemoryBytes = %d", info.MemoryBytes)
	}
	if info.OS == "" || info.CPUModel == "" || info.Cgroup == "" || len(info.Load) != 3 {
		t.Errorf("facts missing: %+v", info)
	}
	if len(info.Governors) != 0 && len(info.Governors) != info.CPUs {
		t.Errorf("%d governors for %d CPUs", len(info.Governors), info.CPUs)
	}
	if _, err := os.Stat("/.dockerenv"); err == nil && info.Container == "" {
		t.Errorf("/.dockerenv exists but Container is empty")
	}
	t.Logf("%s; kernel %s; %s ×%d; %d MiB; cgroup %s; governors %s; %s; load %v; problems %v",
		info.OS, info.Kernel, info.CPUModel, info.CPUs, info.MemoryBytes>>20, info.Cgroup,
		info.GovernorSummary(), info.VirtSummary(), info.Load, info.Problems)
}

func TestEnvRoundTrip(t *testing.T) {
	info := Info{
		OS: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.1.0-18-amd64", KernelBuild: "#1 SMP", Arch: "amd64",
		CPUModel: "AMD EPYC 7B13", CPUs: 8, Cores: 4, Sockets: 1, Governors: []string{"powersave", "performance", "", "performance", "performance", "performance", "performance", "performance"},
		SMT: "on", MemoryBytes: 32 << 30, Cgroup: CgroupV2, Virt: None, Container: None,
		VirtEvidence: []string{"DMI: Dell Inc. PowerEdge R6525", "systemd-detect-virt"},
		Load:         []float64{0.25, 1, 2.5}, Go: "go1.26.0", Tools: map[string]string{"sysbench": "sysbench 1.0.20", "fio": "fio-3.33"},
		Image: "d13e49f7ad9a", ImageSource: "host", Problems: []string{"memory: no MemTotal line"},
	}
	env := info.Env()
	if got := FromEnv(env); !reflect.DeepEqual(got, info) {
		t.Errorf("FromEnv(Env()) =\n%+v\nwant\n%+v", got, info)
	}
	ws := EnvWarnings(env)
	if len(ws) != 1 || ws[0].Code != CodeGovernor || !strings.Contains(ws[0].Message, "2 of 8") {
		t.Errorf("EnvWarnings = %v, want the governor warning (powersave and unknown on 2 of 8 CPUs)", ws)
	}
	if got := info.GovernorSummary(); got != "performance on 6, powersave on 1, unknown on 1" {
		t.Errorf("GovernorSummary = %q", got)
	}
	if got := info.VirtSummary(); got != "bare metal" {
		t.Errorf("VirtSummary = %q", got)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name  string
		info  Info
		codes []string
	}{
		{"quiet host, performance", Info{CPUs: 4, Governors: []string{"performance", "performance", "performance", "performance"}, Load: []float64{0.1, 0, 0}}, nil},
		{"no cpufreq, no load reading", Info{CPUs: 4}, nil},
		{"powersave", Info{CPUs: 2, Governors: []string{"powersave", "powersave"}, Load: []float64{0, 0, 0}}, []string{CodeGovernor}},
		{"busy", Info{CPUs: 2, Load: []float64{1.5, 1, 1}}, []string{warning.CodeHostLoad}},
		{"busy and schedutil", Info{CPUs: 2, Governors: []string{"schedutil", "performance"}, Load: []float64{3, 1, 1}}, []string{CodeGovernor, warning.CodeHostLoad}},
		{"load but CPU count unknown", Info{Load: []float64{3, 1, 1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var codes []string
			for _, w := range tt.info.Warnings() {
				codes = append(codes, w.Code)
			}
			if !reflect.DeepEqual(codes, tt.codes) {
				t.Errorf("warning codes = %v, want %v", codes, tt.codes)
			}
		})
	}
}

func TestCgroupLayout(t *testing.T) {
	v1 := "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	v2 := "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
	unified := "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	other := "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
	tests := []struct{ name, in, want string }{
		{"v2 (systemd)", other + v2, CgroupV2},
		{"hybrid", other + v1 + unified, CgroupHybrid},
		{"v1", other + v1, CgroupV1},
		{"none", other, ""},
		{"empty", "", ""},
		{"type in a path only", "1 2 0:1 / /cgroup2 rw - ext4 /dev/x rw\n", ""},
	}
	for _, tt := range tests {
		if got := CgroupLayout(tt.in); got != tt.want {
			t.Errorf("%s: CgroupLayout = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"0-1\n", []int{0, 1}, false},
		{"0", []int{0}, false},
		{"0-2,4,6-7", []int{0, 1, 2, 4, 6, 7}, false},
		{"", nil, false},
		{"3-1", nil, true},
		{"a", nil, true},
		{"0-", nil, true},
		{"-1", nil, true},
		{"0-99999999", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseCPUList(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCPUList(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	f := ParseOSRelease("# comment\nNAME=\"Fedora Linux\"\nVERSION='40 (Workstation Edition)'\nID=fedora\nPRETTY_NAME=\"A \\\"quoted\\\" \\$name\"\nnot an assignment\n")
	want := map[string]string{"NAME": "Fedora Linux", "VERSION": "40 (Workstation Edition)", "ID": "fedora", "PRETTY_NAME": `A "quoted" $name`}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("ParseOSRelease = %v, want %v", f, want)
	}
	if got := osName(map[string]string{"ID": "alpine", "VERSION_ID": "3.20"}); got != "alpine 3.20" {
		t.Errorf("osName without PRETTY_NAME or NAME = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "MemFree: 1 kB\n", "MemTotal: 12\n", "MemTotal: x kB\n", "MemTotal: -5 kB\n", "MemTotal: 99999999999999999 kB\n"} {
		if n, err := ParseMemTotal(in); err == nil {
			t.Errorf("ParseMemTotal(%q) = %d, want an error", in, n)
		}
	}
	for _, in := range []string{"", "1 2", "1 x 3", "-1 0 0", "NaN 0 0", "+Inf 1 1"} {
		if l, err := ParseLoadavg(in); err == nil {
			t.Errorf("ParseLoadavg(%q) = %v, want an error", in, l)
		}
	}
}

func TestVMFromDMI(t *testing.T) {
	tests := []struct{ vendor, product, want string }{
		{"QEMU", "Standard PC (i440FX + PIIX, 1996)", "qemu"},
		{"Amazon EC2", "m5.large", "amazon"},
		{"Microsoft Corporation", "Virtual Machine", "microsoft"},
		{"Dell Inc.", "PowerEdge R6525", ""},
		{"innotek GmbH", "VirtualBox", "oracle"},
	}
	for _, tt := range tests {
		if got := vmFromDMI(tt.vendor, tt.product); got != tt.want {
			t.Errorf("vmFromDMI(%q, %q) = %q, want %q", tt.vendor, tt.product, got, tt.want)
		}
	}
}
