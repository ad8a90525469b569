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
// then SIGKILL, then deletes the container. Runtimes keep their state in
// their default root, so `runc list` (and the others) show what exists.
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
// Probe tries rather than guesses: it runs a test sandbox (a static
// busybox running `true`) with a timeout, and its failure text becomes the
// reason in the ErrNotSupported error. For runsc without a variant it tries
// the gVisor platforms in order (systrap, kvm, ptrace), each with a short
// timeout, killing whatever a hung attempt left, and keeps the first that
// works; the driver keeps the name "runsc" and Info.Features["platform"]
// says which platform runs.
package oci
