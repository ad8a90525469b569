// Package oci drives the OCI runtimes that run a bundle on the host: runc,
// crun, youki, and gVisor's runsc. One Driver type serves them all; what
// differs between them (global flags, gVisor platforms, crun's need for a
// private mount namespace on hybrid cgroup hosts) is kept in a small table.
//
// Each sandbox gets a directory <RunDir>/<id> that is its bundle: an
// overlayfs whose lower layer is the image's root filesystem (never
// written) and whose upper and work layers live in the directory, mounted
// as the bundle's rootfs; config.json, built from the runtime-spec types,
// runs the image's agent in init mode with its output in a log file in the
// same directory. The sandbox is ready when the agent's Ready line appears
// in that log. Commands run through `<runtime> exec`; Stop sends SIGTERM,
// then SIGKILL, and returns once the sandbox's init is gone (its process
// exited, or the runtime says "stopped": runsc's sandbox process outlives
// the init until the delete); the container stays, stopped, in the
// runtime's state. Close does the runtime's `delete --force`, then the
// rest of the teardown. Runtimes keep their state in their default root,
// so `runc list` (and the others) show what exists.
//
// Everything isobench makes for a sandbox is named by its id, which starts
// with driver.IDPrefix: the container, the overlay mount (whose source is
// the id), the cgroup <controller>/isobench/<id>, and the directory. A
// state record in <StateDir>/oci/<id>.json names them before any is made
// and goes after all are gone. Create and Start register an undo step as
// they make each thing; a failed Create or Start runs them all, and Close
// runs what is left and then checks that nothing of the sandbox remains
// (mounts, directory, record, container, cgroups, processes), reporting
// whatever does in its error. Collect removes what a crashed isobench left,
// from the records and from the runtime's list, and nothing else.
//
// A sandbox made with Spec.Network joins a network namespace of its own,
// linked to the host by a veth pair (package sandboxnet): runc, crun and
// youki put the container in it; runsc runs its sentry in it with gVisor's
// own network stack (--network=sandbox), or, where that does not start (the
// 2022 runsc on kernels that namespace /proc/sys/net/core/rmem_default),
// with the host kernel's stack in that namespace (--network=host), which
// the driver finds out once with a test sandbox and says in the link's
// Note. Without Spec.Network a sandbox has a new, empty namespace.
//
// Instances implement driver.StartTimer (Launched: `run --detach` exited;
// Ready: the Ready line read from the log, polled at most 1 ms apart),
// driver.HostProcesses and driver.HostCgroups (the processes and cgroups
// of the sandbox's cgroup <controller>/isobench/<id>), and
// driver.Networker.
//
// runsc looks container ids up by prefix: an id that starts another live
// one is refused as ambiguous, and an id it no longer knows may find
// another sandbox. The driver never takes another sandbox's state for its
// own; workloads that keep several sandboxes alive give them ids of which
// none starts another (runner.SandboxID gives such ids).
//
// Probe tries rather than guesses: it runs a test sandbox (a static
// busybox running `true`) with a timeout, and its failure text becomes the
// reason in the ErrNotSupported error. For runsc without a variant it tries
// the gVisor platforms in order (systrap, kvm, ptrace), each with a short
// timeout, killing whatever a hung attempt left, and keeps the first that
// works; the driver keeps the name "runsc" and Info.Features["platform"]
// says which platform runs.
package oci
