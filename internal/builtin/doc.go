// Package builtin is the one place where isobench's drivers and workloads are
// listed. Adding a runtime or a benchmark means adding a line here; nothing
// registers itself.
//
// It is also where the rest of isobench gets what only a driver package
// knows, so that the command line reaches drivers through the registry
// and their interfaces alone: the process's KVM decision (KVM), the
// runtimes of a run on a Kubernetes cluster (ClusterDrivers,
// ClusterBaseline), and whether an imported image may run on the host
// baseline (CheckImageTrust).
package builtin
