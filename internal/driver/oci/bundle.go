package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isobench/isobench/internal/driver"
)

// ociVersion is the spec version written into bundles: the oldest version
// every supported runtime reads; the bundle uses nothing newer.
const ociVersion = "1.0.2"

// cpuPeriod is the CFS period used to turn Spec.CPUs into a quota.
const cpuPeriod = 100000 // µs

// defaultPath is the PATH of every process in the sandbox.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// bundleParams is everything config.json is made from.
type bundleParams struct {
	ID   string
	Args []string
	// Scratch is a driver.Scratch* kind ("" means rootfs); VolumeDir is the
	// host directory bind-mounted for ScratchVolume.
	Scratch     string
	VolumeDir   string
	CPUs        int
	MemoryBytes int64
	// NetNS is the path of the network namespace to join (the sandbox's
	// link, see package sandboxnet); "" makes a new, empty one.
	NetNS  string
	Labels map[string]string
}

// defaultCaps is the capability set engines give a container by default
// (the set Docker and Podman use), so that results compare with theirs.
func defaultCaps() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
}

// bundleSpec builds the OCI runtime configuration of one sandbox.
func bundleSpec(p bundleParams) (*specs.Spec, error) {
	if p.ID == "" {
		return nil, errors.New("bundle: empty id")
	}
	if len(p.Args) == 0 {
		return nil, errors.New("bundle: no process arguments")
	}
	if p.CPUs < 0 {
		return nil, fmt.Errorf("bundle: negative CPU count %d", p.CPUs)
	}
	if p.MemoryBytes < 0 {
		return nil, fmt.Errorf("bundle: negative memory size %d", p.MemoryBytes)
	}
	caps := defaultCaps()
	s := &specs.Spec{
		Version: ociVersion,
		Process: &specs.Process{
			User: specs.User{UID: 0, GID: 0},
			Args: append([]string(nil), p.Args...),
			Env:  []string{defaultPath},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: "rootfs", Readonly: false},
		Hostname: p.ID,
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: cgroupsPath(p.ID),
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	// A network namespace without a path is a new, empty one: only lo.
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: p.NetNS})
	switch p.Scratch {
	case "", driver.ScratchRootfs:
		// The image's own directory, on the overlay.
	case driver.ScratchVolume:
		if !filepath.IsAbs(p.VolumeDir) {
			return nil, fmt.Errorf("bundle: volume scratch needs an absolute host directory, got %q", p.VolumeDir)
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: driver.ScratchPath, Type: "bind", Source: p.VolumeDir, Options: []string{"rbind", "rw"}})
	case driver.ScratchTmpfs:
		s.Mounts = append(s.Mounts, specs.Mount{Destination: driver.ScratchPath, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777"}})
	default:
		return nil, fmt.Errorf("bundle: unknown scratch kind %q (want %s, %s or %s)", p.Scratch, driver.ScratchRootfs, driver.ScratchVolume, driver.ScratchTmpfs)
	}
	if p.CPUs > 0 {
		quota, period := int64(p.CPUs)*cpuPeriod, uint64(cpuPeriod)
		s.Linux.Resources.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	if p.MemoryBytes > 0 {
		limit := p.MemoryBytes
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	if len(p.Labels) > 0 {
		s.Annotations = map[string]string{}
		for k, v := range p.Labels {
			if k == "" {
				return nil, errors.New("bundle: label with an empty key")
			}
			s.Annotations[k] = v
		}
	}
	return s, nil
}

// writeSpec writes config.json into a bundle directory.
func writeSpec(bundle string, s *specs.Spec) error {
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return fmt.Errorf("encoding config.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing config.json: %w", err)
	}
	return nil
}
