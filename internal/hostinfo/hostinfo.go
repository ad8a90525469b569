package hostinfo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/warning"
)

// Keys of Info in a run's environment map (result.Run.Env).
const (
	KeyOS           = "os"
	KeyKernel       = "kernel"
	KeyKernelBuild  = "kernel.build"
	KeyArch         = "arch"
	KeyCPUModel     = "cpu.model"
	KeyCPUs         = "cpu.count"
	KeyCores        = "cpu.cores"
	KeySockets      = "cpu.sockets"
	KeyGovernors    = "cpu.governors"
	KeySMT          = "cpu.smt"
	KeyMemory       = "memory"
	KeyCgroup       = "cgroup"
	KeyVirt         = "virt"
	KeyContainer    = "container"
	KeyVirtEvidence = "virt.evidence"
	KeyLoad         = "load"
	KeyGo           = "go"
	KeyImage        = "image"
	KeyImageSource  = "image.source"
	KeyProblems     = "problems"
	// KeyToolPrefix starts the key of each workload tool's version, e.g.
	// "tool.sysbench".
	KeyToolPrefix = "tool."
	// KeyWarningPrefix starts the key of each run-level warning, followed by
	// its code, e.g. "warning.cpu-governor".
	KeyWarningPrefix = "warning."
)

// Cgroup layouts.
const (
	CgroupV1     = "v1"     // only cgroup v1 hierarchies
	CgroupHybrid = "hybrid" // v1 controllers with a cgroup2 hierarchy beside them
	CgroupV2     = "v2"     // the unified hierarchy only
)

// None is the value of Virt and Container on bare metal and outside
// containers.
const None = "none"

// Info is the environment of a run.
type Info struct {
	OS          string // os-release PRETTY_NAME, e.g. "Debian GNU/Linux 12 (bookworm)"
	Kernel      string // kernel release, e.g. "6.1.0-18-amd64"
	KernelBuild string // kernel version string, e.g. "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1"
	Arch        string // GOARCH of the host, e.g. "amd64"
	CPUModel    string
	CPUs        int // logical CPUs online
	Cores       int // physical cores; 0 when the host does not say
	Sockets     int // 0 when the host does not say
	// Governors holds the cpufreq scaling governor of each online CPU, in
	// CPU order ("" where one is unreadable); nil when the host exposes no
	// frequency scaling (common in VMs).
	Governors []string
	// SMT is the kernel's simultaneous multithreading control: "on", "off",
	// "forceoff", "notsupported" or "notimplemented"; "" when unknown.
	SMT         string
	MemoryBytes int64
	Cgroup      string // one of the Cgroup constants; "" when unknown
	// Virt names the hypervisor the host itself runs on ("kvm", "vmware",
	// ...), None on bare metal, "" when unknown; Container likewise names
	// the container the host runs in.
	Virt      string
	Container string
	// VirtEvidence lists what Virt and Container were judged from.
	VirtEvidence []string
	// Load is the 1, 5 and 15 minute load average at capture; nil when
	// unknown.
	Load []float64
	// Go is the Go release isobench was built with.
	Go string
	// Tools maps each workload tool to its version (from the image).
	Tools       map[string]string
	Image       string // the workload image's ID
	ImageSource string
	// Problems says which facts could not be read, and why.
	Problems []string
}

// Options says where Capture reads from.
type Options struct {
	// Root is the file system root to read /etc, /proc and /sys under;
	// "" means "/".
	Root string
	// NoCommands stops Capture from running systemd-detect-virt; the
	// virtualisation is then judged from files alone.
	NoCommands bool
}

// Capture reads the environment. It never fails as a whole: facts it cannot
// read are left empty and explained in Info.Problems.
func Capture(ctx context.Context, opt Options) Info {
	root := opt.Root
	if root == "" {
		root = "/"
	}
	c := &capturer{root: root}
	info := Info{Arch: runtime.GOARCH, Go: runtime.Version()}

	if b, err := c.read("etc/os-release"); err != nil {
		if b, err2 := c.read("usr/lib/os-release"); err2 == nil {
			info.OS = osName(ParseOSRelease(string(b)))
		} else {
			c.problem("os", err)
		}
	} else {
		info.OS = osName(ParseOSRelease(string(b)))
	}
	info.Kernel = c.line("kernel", "proc/sys/kernel/osrelease")
	info.KernelBuild = c.line("kernel build", "proc/sys/kernel/version")

	var cpu CPUInfo
	if b, err := c.read("proc/cpuinfo"); err != nil {
		c.problem("cpu", err)
	} else {
		cpu = ParseCPUInfo(string(b))
		info.CPUModel, info.Cores, info.Sockets = cpu.Model, cpu.Cores, cpu.Sockets
	}
	online, err := c.onlineCPUs()
	switch {
	case err == nil:
		info.CPUs = len(online)
	case cpu.Processors > 0:
		info.CPUs = cpu.Processors
	default:
		c.problem("cpu count", err)
	}
	info.Governors = c.governors(online)
	if s := c.line("", "sys/devices/system/cpu/smt/control"); s != "" {
		info.SMT = s
	}

	if b, err := c.read("proc/meminfo"); err != nil {
		c.problem("memory", err)
	} else if n, err := ParseMemTotal(string(b)); err != nil {
		c.problem("memory", err)
	} else {
		info.MemoryBytes = n
	}
	if b, err := c.read("proc/self/mountinfo"); err != nil {
		c.problem("cgroup", err)
	} else {
		info.Cgroup = CgroupLayout(string(b))
	}
	if b, err := c.read("proc/loadavg"); err != nil {
		c.problem("load", err)
	} else if l, err := ParseLoadavg(string(b)); err != nil {
		c.problem("load", err)
	} else {
		info.Load = l
	}
	info.Virt, info.Container, info.VirtEvidence = c.virtualisation(ctx, cpu, opt.NoCommands)
	info.Problems = c.problems
	return info
}

type capturer struct {
	root     string
	problems []string
}

func (c *capturer) path(rel string) string { return filepath.Join(c.root, rel) }

func (c *capturer) read(rel string) ([]byte, error) {
	return os.ReadFile(c.path(rel))
}

func (c *capturer) problem(what string, err error) {
	c.problems = append(c.problems, fmt.Sprintf("%s: %v", what, err))
}

// line reads a one-line file; a missing file is a problem named what,
// unless what is "".
func (c *capturer) line(what, rel string) string {
	b, err := c.read(rel)
	if err != nil {
		if what != "" {
			c.problem(what, err)
		}
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (c *capturer) onlineCPUs() ([]int, error) {
	b, err := c.read("sys/devices/system/cpu/online")
	if err != nil {
		return nil, err
	}
	return ParseCPUList(string(b))
}

// governors reads each online CPU's scaling governor; nil when no CPU has
// cpufreq.
func (c *capturer) governors(online []int) []string {
	out := make([]string, len(online))
	found := false
	for i, n := range online {
		g := c.line("", fmt.Sprintf("sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", n))
		out[i] = g
		found = found || g != ""
	}
	if !found {
		return nil
	}
	return out
}

// virtualisation judges whether the host is a VM or a container: from
// systemd-detect-virt when it is installed, else from DMI, the CPU's
// hypervisor flag and container marker files.
func (c *capturer) virtualisation(ctx context.Context, cpu CPUInfo, noCommands bool) (vm, ct string, evidence []string) {
	vendor := c.line("", "sys/class/dmi/id/sys_vendor")
	product := c.line("", "sys/class/dmi/id/product_name")
	if vendor != "" || product != "" {
		evidence = append(evidence, "DMI: "+strings.TrimSpace(vendor+" "+product))
	}
	if cpu.Hypervisor {
		evidence = append(evidence, "CPU flag: hypervisor")
	}
	if !noCommands {
		if path, err := exec.LookPath("systemd-detect-virt"); err == nil {
			vm = detectVirt(ctx, path, "--vm")
			ct = detectVirt(ctx, path, "--container")
			if vm != "" || ct != "" {
				evidence = append(evidence, "systemd-detect-virt")
			}
		}
	}
	if vm == "" {
		vm = vmFromDMI(vendor, product)
		if vm == "" && cpu.Hypervisor {
			vm = "unknown hypervisor"
		}
		if vm == "" && (vendor != "" || product != "") {
			vm = None
		}
	}
	if ct == "" {
		for _, m := range []struct{ file, name string }{{".dockerenv", "docker"}, {"run/.containerenv", "podman"}} {
			if _, err := os.Stat(c.path(m.file)); err == nil {
				ct = m.name
				evidence = append(evidence, "file /"+m.file)
				break
			}
		}
	}
	return vm, ct, evidence
}

// detectVirt runs systemd-detect-virt with a flag and returns what it
// printed: a technology, or "none" (it then exits 1). "" means it failed.
func detectVirt(ctx context.Context, path, flag string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, flag).Output()
	s := strings.TrimSpace(string(out))
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && s == None) {
		return ""
	}
	return s
}

// vmFromDMI names the hypervisor from the DMI system vendor and product, as
// systemd-detect-virt's table does for the common ones; "" when they name
// none.
func vmFromDMI(vendor, product string) string {
	v := strings.ToLower(vendor + " " + product)
	for _, m := range []struct{ sub, name string }{
		{"kvm", "kvm"}, {"qemu", "qemu"}, {"vmware", "vmware"}, {"virtualbox", "oracle"},
		{"innotek", "oracle"}, {"xen", "xen"}, {"bochs", "bochs"}, {"parallels", "parallels"},
		{"amazon ec2", "amazon"}, {"google compute engine", "google"}, {"firecracker", "firecracker"},
		{"cloud hypervisor", "cloud-hypervisor"}, {"microsoft corporation virtual machine", "microsoft"},
	} {
		if strings.Contains(v, m.sub) {
			return m.name
		}
	}
	return ""
}

// AddTools records the workload image and its tools' versions.
func (i *Info) AddTools(imageID, source string, tools map[string]string) {
	i.Image, i.ImageSource = imageID, source
	if len(tools) == 0 {
		return
	}
	if i.Tools == nil {
		i.Tools = map[string]string{}
	}
	for k, v := range tools {
		i.Tools[k] = v
	}
}

// Warnings judges the environment for measuring: CPU governors other than
// "performance" and load on the host (GovernorWarning and LoadWarning).
// Unknown readings give no warning.
func (i Info) Warnings() []warning.Warning {
	var out []warning.Warning
	if w := GovernorWarning(i.Governors); w != nil {
		out = append(out, *w)
	}
	if len(i.Load) > 0 && i.CPUs > 0 {
		if w := LoadWarning(i.Load[0], i.CPUs); w != nil {
			out = append(out, *w)
		}
	}
	return out
}

// Env returns the facts, and the warnings judged from them, as a run's
// environment map. Unknown facts are left out.
func (i Info) Env() map[string]string {
	env := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			env[k] = v
		}
	}
	setInt := func(k string, v int64) {
		if v > 0 {
			env[k] = strconv.FormatInt(v, 10)
		}
	}
	set(KeyOS, i.OS)
	set(KeyKernel, i.Kernel)
	set(KeyKernelBuild, i.KernelBuild)
	set(KeyArch, i.Arch)
	set(KeyCPUModel, i.CPUModel)
	setInt(KeyCPUs, int64(i.CPUs))
	setInt(KeyCores, int64(i.Cores))
	setInt(KeySockets, int64(i.Sockets))
	if i.Governors != nil {
		env[KeyGovernors] = strings.Join(i.Governors, ",")
	}
	set(KeySMT, i.SMT)
	setInt(KeyMemory, i.MemoryBytes)
	set(KeyCgroup, i.Cgroup)
	set(KeyVirt, i.Virt)
	set(KeyContainer, i.Container)
	set(KeyVirtEvidence, strings.Join(i.VirtEvidence, "; "))
	if len(i.Load) == 3 {
		env[KeyLoad] = fmt.Sprintf("%.2f %.2f %.2f", i.Load[0], i.Load[1], i.Load[2])
	}
	set(KeyGo, i.Go)
	set(KeyImage, i.Image)
	set(KeyImageSource, i.ImageSource)
	for k, v := range i.Tools {
		set(KeyToolPrefix+k, v)
	}
	set(KeyProblems, strings.Join(i.Problems, "; "))
	for _, w := range i.Warnings() {
		env[KeyWarningPrefix+w.Code] = w.Message
	}
	return env
}

// FromEnv reads Info back from a run's environment map. Facts that are
// missing or malformed are left empty.
func FromEnv(env map[string]string) Info {
	i := Info{
		OS: env[KeyOS], Kernel: env[KeyKernel], KernelBuild: env[KeyKernelBuild], Arch: env[KeyArch],
		CPUModel: env[KeyCPUModel], SMT: env[KeySMT], Cgroup: env[KeyCgroup],
		Virt: env[KeyVirt], Container: env[KeyContainer], Go: env[KeyGo],
		Image: env[KeyImage], ImageSource: env[KeyImageSource],
	}
	atoi := func(k string) int {
		n, _ := strconv.Atoi(env[k])
		return n
	}
	i.CPUs, i.Cores, i.Sockets = atoi(KeyCPUs), atoi(KeyCores), atoi(KeySockets)
	i.MemoryBytes, _ = strconv.ParseInt(env[KeyMemory], 10, 64)
	if g, ok := env[KeyGovernors]; ok {
		i.Governors = strings.Split(g, ",")
	}
	if e := env[KeyVirtEvidence]; e != "" {
		i.VirtEvidence = strings.Split(e, "; ")
	}
	if p := env[KeyProblems]; p != "" {
		i.Problems = strings.Split(p, "; ")
	}
	if l, err := ParseLoadavg(env[KeyLoad]); err == nil {
		i.Load = l
	}
	for k, v := range env {
		if name, ok := strings.CutPrefix(k, KeyToolPrefix); ok {
			if i.Tools == nil {
				i.Tools = map[string]string{}
			}
			i.Tools[name] = v
		}
	}
	return i
}

// EnvWarnings returns the run-level warnings kept in an environment map,
// ordered by code.
func EnvWarnings(env map[string]string) []warning.Warning {
	var out []warning.Warning
	for k, v := range env {
		if code, ok := strings.CutPrefix(k, KeyWarningPrefix); ok {
			out = append(out, warning.Warning{Code: code, Message: v})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Code < out[b].Code })
	return out
}

// GovernorSummary describes the governors in a few words: "performance on
// all 8 CPUs", "powersave on 2, performance on 6", or "not exposed".
func (i Info) GovernorSummary() string {
	if len(i.Governors) == 0 {
		return "not exposed (no cpufreq)"
	}
	count := map[string]int{}
	for _, g := range i.Governors {
		if g == "" {
			g = "unknown"
		}
		count[g]++
	}
	if len(count) == 1 {
		for g := range count {
			return fmt.Sprintf("%s on all %d CPUs", g, len(i.Governors))
		}
	}
	names := make([]string, 0, len(count))
	for g := range count {
		names = append(names, g)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for k, g := range names {
		parts[k] = fmt.Sprintf("%s on %d", g, count[g])
	}
	return strings.Join(parts, ", ")
}

// VirtSummary describes where the host runs: "bare metal", "VM (kvm)",
// "VM (kvm), in a container (docker)", or "unknown".
func (i Info) VirtSummary() string {
	var parts []string
	switch i.Virt {
	case "":
	case None:
		parts = append(parts, "bare metal")
	default:
		parts = append(parts, "VM ("+i.Virt+")")
	}
	if i.Container != "" && i.Container != None {
		parts = append(parts, "in a container ("+i.Container+")")
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, ", ")
}
