package builtin

import (
	"slices"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/cloudhypervisor"
	"github.com/isobench/isobench/internal/driver/engine"
	"github.com/isobench/isobench/internal/driver/firecracker"
	"github.com/isobench/isobench/internal/driver/host"
	"github.com/isobench/isobench/internal/driver/incus"
	"github.com/isobench/isobench/internal/driver/lxc"
	"github.com/isobench/isobench/internal/driver/oci"
	"github.com/isobench/isobench/internal/driver/qemu"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/apps"
	"github.com/isobench/isobench/internal/workload/density"
	"github.com/isobench/isobench/internal/workload/fio"
	"github.com/isobench/isobench/internal/workload/netperf"
	"github.com/isobench/isobench/internal/workload/startup"
	"github.com/isobench/isobench/internal/workload/sysbench"
	"github.com/isobench/isobench/internal/workload/syscalls"
)

// Drivers returns the registry of every runtime isobench knows, in the
// order tables list them: the host baseline first, then by growing
// isolation.
func Drivers() *driver.Registry {
	var r driver.Registry
	r.Register(host.Name, "the host baseline: no isolation, the image's own binaries", host.New)
	r.Register("runc", "OCI runtime runc: namespaces and cgroups", oci.NewRunc)
	r.Register("crun", "OCI runtime crun: namespaces and cgroups, written in C", oci.NewCrun)
	r.Register("youki", "OCI runtime youki: namespaces and cgroups, written in Rust", oci.NewYouki)
	r.Register("runsc", "gVisor runsc: an application kernel; variants name the platform (runsc:ptrace, runsc:systrap, runsc:kvm)", oci.NewRunsc)
	r.Register("docker", "Docker engine: a container with the daemon's default runtime; variants name a registered runtime (docker:runsc, docker:crun), or hostnet for the host's network namespace (docker:hostnet)", engine.Docker)
	r.Register("podman", "Podman engine (its Docker-compatible API): a container with its default runtime; variants name a runtime (podman:runsc, podman:runc), or hostnet for the host's network namespace (podman:hostnet)", engine.Podman)
	r.Register(lxc.Name, "LXC system container: busybox init as PID 1, its own /proc, /sys, /dev, hostname and cgroups", lxc.Factory)
	r.Register(incus.Name, "Incus system container: unprivileged, busybox init as PID 1, on a dir storage pool (a private daemon when none runs)", incus.Factory)
	r.Register(qemu.MicrovmName, "QEMU microVM (-M microvm): the guest kernel and the image's disk, virtio-mmio; KVM, else software emulation (TCG, flagged)", qemu.NewMicrovm)
	r.Register(qemu.VMName, "QEMU full VM (-M q35, firmware, PCI): the full-VM reference; KVM, else software emulation (TCG, flagged)", qemu.NewVM)
	r.Register(firecracker.Name, "Firecracker microVM through its REST API (needs KVM and a kernel with virtio-mmio command-line devices)", firecracker.Factory)
	r.Register(cloudhypervisor.Name, "Cloud Hypervisor VM through its REST API (needs KVM and a PVH kernel)", cloudhypervisor.Factory)
	return &r
}

// Workloads returns the registry of every workload, in the order tables
// list them.
func Workloads() *workload.Registry {
	var r workload.Registry
	r.Register(sysbench.CPU{})
	r.Register(sysbench.Memory{})
	r.Register(sysbench.FileIO{})
	r.Register(fio.FIO{})
	r.Register(startup.Workload{})
	r.Register(density.Workload{})
	r.Register(syscalls.Workload{})
	r.Register(netperf.Workload{})
	r.Register(apps.HTTP{})
	r.Register(apps.Redis{})
	r.Register(apps.Python{})
	return &r
}

// CheckImageTrust says whether an image not built from this host's tools
// may run on the named runtimes without the user's word: not on the host
// baseline, which runs the image's programs on the host itself, as root,
// with no isolation (host.ErrUntrustedImage, which the host driver also
// returns for such an image).
func CheckImageTrust(runtimes []string) error {
	if slices.Contains(runtimes, host.Name) {
		return host.ErrUntrustedImage
	}
	return nil
}
