package lxc

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/lxc/sysinit"
)

// cpuPeriod is the CFS period used to turn Spec.CPUs into a quota.
const cpuPeriod = 100000 // µs

// configMarker starts the first line of every container configuration
// isobench writes; Collect touches no container whose configuration lacks
// it.
const configMarker = "# isobench sandbox "

// configParams is everything a container's configuration is made from.
type configParams struct {
	ID string
	// Includes are configuration files included first, in order (the
	// distribution's default container configuration and common.conf).
	Includes   []string
	Rootfs     string // host directory of the root filesystem (the overlay)
	ConsoleLog string // where the console is logged
	LogFile    string // LXC's own log
	// Cgroup is the host's cgroup layout (v1, v2, hybrid): it decides
	// whether limits are written as lxc.cgroup or lxc.cgroup2 keys.
	Cgroup string
	// Scratch is a driver.Scratch* kind; VolumeDir the host directory
	// bind-mounted for driver.ScratchVolume.
	Scratch     string
	VolumeDir   string
	CPUs        int
	MemoryBytes int64
	// NetNS is the network namespace (a /run/netns path) the container
	// joins, holding the sandbox end of its link; "" for a namespace of
	// its own with only lo.
	NetNS  string
	Labels map[string]string
	// Owner says, in the marker line, which isobench process made it.
	Owner string
}

// safeValue reports whether s can be a configuration value or a field of
// an fstab-style mount entry: no whitespace, no control characters.
func safeValue(s string) bool {
	for _, c := range s {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return s != ""
}

// buildConfig returns the LXC configuration of a sandbox: the distribution's
// defaults (as lxc-create would start from), then what isobench sets: the
// name and hostname, the overlay as the root filesystem, busybox init as
// init, no network device (or the host's network), the console and LXC's
// log in the instance directory, the scratch mount and the limits.
func buildConfig(p configParams) (string, error) {
	if !safeValue(p.ID) {
		return "", fmt.Errorf("config: bad container name %q", p.ID)
	}
	for _, path := range append([]string{p.Rootfs, p.ConsoleLog, p.LogFile}, p.Includes...) {
		if !filepath.IsAbs(path) || !safeValue(path) {
			return "", fmt.Errorf("config: path %q must be absolute, without whitespace", path)
		}
	}
	if p.CPUs < 0 {
		return "", fmt.Errorf("config: negative CPU count %d", p.CPUs)
	}
	if p.MemoryBytes < 0 {
		return "", fmt.Errorf("config: negative memory size %d", p.MemoryBytes)
	}
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	fmt.Fprintf(&b, "%s%s, made by %s; removed when the sandbox is closed, or by isobench gc once that process is gone.\n", configMarker, p.ID, p.Owner)
	keys := make([]string, 0, len(p.Labels))
	for k, v := range p.Labels {
		if k == "" || strings.ContainsAny(k, "\n\r=") || strings.ContainsAny(v, "\n\r") {
			return "", fmt.Errorf("config: label %q=%q: keys must be non-empty without '=', neither may hold a line break", k, v)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "# label %s=%s\n", k, p.Labels[k])
	}
	for _, inc := range p.Includes {
		line("lxc.include", inc)
	}
	line("lxc.uts.name", p.ID)
	line("lxc.rootfs.path", "dir:"+p.Rootfs)
	line("lxc.init.cmd", sysinit.InitPath)
	line("lxc.start.auto", "0")
	// Busybox init mounts no cgroups, as systemd would: LXC mounts them
	// (the container's own, through its cgroup namespace).
	line("lxc.mount.auto", "proc:mixed sys:mixed cgroup:mixed:force")
	// An empty lxc.net clears the interfaces the included defaults define.
	line("lxc.net", "")
	if p.NetNS != "" {
		if !filepath.IsAbs(p.NetNS) || !safeValue(p.NetNS) {
			return "", fmt.Errorf("config: network namespace %q must be an absolute path without whitespace", p.NetNS)
		}
		// The namespace of the sandbox's link (package sandboxnet): one
		// device besides lo, configured already.
		line("lxc.namespace.share.net", p.NetNS)
	} else {
		// A network namespace with only lo.
		line("lxc.net.0.type", "empty")
	}
	line("lxc.console.logfile", p.ConsoleLog)
	line("lxc.log.file", p.LogFile)
	line("lxc.log.level", "WARN")
	switch p.Scratch {
	case "", driver.ScratchRootfs:
		// The image's own /scratch, on the overlay.
	case driver.ScratchVolume:
		if !filepath.IsAbs(p.VolumeDir) || !safeValue(p.VolumeDir) {
			return "", fmt.Errorf("config: volume scratch needs an absolute host directory without whitespace, got %q", p.VolumeDir)
		}
		line("lxc.mount.entry", p.VolumeDir+" "+strings.TrimPrefix(driver.ScratchPath, "/")+" none bind,create=dir 0 0")
	case driver.ScratchTmpfs:
		line("lxc.mount.entry", "tmpfs "+strings.TrimPrefix(driver.ScratchPath, "/")+" tmpfs nosuid,nodev,mode=1777,create=dir 0 0")
	default:
		return "", fmt.Errorf("config: unknown scratch kind %q", p.Scratch)
	}
	v2 := p.Cgroup == "v2"
	if p.CPUs > 0 {
		quota := int64(p.CPUs) * cpuPeriod
		if v2 {
			line("lxc.cgroup2.cpu.max", fmt.Sprintf("%d %d", quota, cpuPeriod))
		} else {
			line("lxc.cgroup.cpu.cfs_period_us", fmt.Sprint(cpuPeriod))
			line("lxc.cgroup.cpu.cfs_quota_us", fmt.Sprint(quota))
		}
	}
	if p.MemoryBytes > 0 {
		if v2 {
			line("lxc.cgroup2.memory.max", fmt.Sprint(p.MemoryBytes))
		} else {
			line("lxc.cgroup.memory.limit_in_bytes", fmt.Sprint(p.MemoryBytes))
		}
	}
	return b.String(), nil
}

// configRootfs returns the root filesystem directory a configuration names
// (lxc.rootfs.path with the dir: prefix) and whether it starts with the
// isobench marker. Collect uses it to tell isobench's containers of this
// environment from anything else.
func configRootfs(config string) (rootfs string, marked bool, err error) {
	marked = strings.HasPrefix(config, configMarker)
	for _, l := range strings.Split(config, "\n") {
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.TrimSpace(k) != "lxc.rootfs.path" {
			continue
		}
		v = strings.TrimSpace(v)
		if rest, ok := strings.CutPrefix(v, "dir:"); ok {
			v = rest
		}
		rootfs = v
	}
	if rootfs == "" {
		return "", marked, errors.New("no lxc.rootfs.path")
	}
	return rootfs, marked, nil
}
