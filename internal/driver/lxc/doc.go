// Package lxc drives LXC system containers with the lxc-* tools (no cgo, no
// liblxc bindings): a whole system made from the workload image, with its
// own init as PID 1, its own /proc, /sys, /dev, hostname and cgroup (a
// cgroup namespace, with the container's cgroups mounted inside), and no
// network device unless asked for.
//
// # What a sandbox is
//
// Each sandbox gets a directory <RunDir>/<id> holding an overlayfs whose
// lower layer is the image's root filesystem (never written) and whose
// upper and work layers live in the directory — so the rootfs scratch kind
// means the same as for the OCI drivers. The upper layer starts with the
// init layer of package sysinit: /sbin/init (the image's busybox) and an
// inittab that starts the agent once the system has booted. The container
// is defined in LXC's own path (lxc-config lxc.lxcpath, where `lxc-ls`
// lists it, so a user sees anything isobench left) under the sandbox id,
// with a configuration that includes the distribution's default and common
// container configuration, as one made by lxc-create does, then sets: the
// overlay as lxc.rootfs.path, busybox init as lxc.init.cmd, an empty
// network (lxc.net.0.type = empty: only lo; with Spec.Network the
// container joins the network namespace of a veth link made by package
// sandboxnet, lxc.namespace.share.net), the console logged to
// <dir>/console.log, LXC's log to
// <dir>/lxc.log, the scratch mount (a bind mount of <dir>/volume, or a
// tmpfs) and the CPU and memory limits. Containers run privileged, as root
// makes them by default.
//
// Start runs lxc-start -d and waits for the agent's Ready line on the
// console (a "can't run" from busybox init fails it at once). Commands run
// with lxc-attach --clear-env; when their context ends, lxc-attach and the
// command are killed, since lxc-attach passes no signal on. Stop is a real
// shutdown (lxc-stop: SIGPWR to busybox init, killed after 10s); Close of a
// running container kills it (lxc-stop -k), since a freed sandbox needs no
// clean shutdown.
//
// # Cleanup
//
// A state record in <StateDir>/lxc/<id>.json names everything before any
// of it is made and goes after all is gone. Create and Start register an
// undo step as they make each thing; a failed Create or Start runs them
// all, and Close runs what is left, then checks that nothing of the
// sandbox remains (mounts, directories, the definition and LXC's lock
// file, lxc-ls, the container's lxc.payload and lxc.monitor cgroups,
// processes naming it). Collect removes what a crashed isobench left,
// from the records and from the LXC path, touching only definitions that
// carry isobench's marker and name a root filesystem under its RunDir.
//
// Probe tries rather than guesses: it starts a test container (a static
// busybox echoing a mark on the console) in the foreground with a timeout,
// and what LXC said becomes the reason of its ErrNotSupported error.
package lxc
