package builtin

import (
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/host"
	"github.com/isobench/isobench/internal/driver/oci"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/sysbench"
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
	return &r
}

// Workloads returns the registry of every workload, in the order tables
// list them.
func Workloads() *workload.Registry {
	var r workload.Registry
	r.Register(sysbench.CPU{})
	return &r
}
