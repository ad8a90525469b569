// Package incus drives Incus system containers (runtime "incus"). Incus
// VMs are not a runtime of isobench's until it has a bootable VM image
// with the Incus agent for them. It talks to the
// daemon through its REST API on the unix socket (net/http with a unix
// dialer; exec streams over websockets), not through the Incus Go module.
//
// # The daemon
//
// When the system's daemon answers on /var/lib/incus/unix.socket, the
// driver uses it, with the pool of its default profile's root disk. When
// none runs, the driver starts a private one, once per Driver value, with
// its own INCUS_DIR <RunDir>/incusd-<pid>-<random> (incusd --group root,
// in a session of its own), makes a `dir` storage pool "isobench" in it and
// no network; Close (driver.CloseDriver) deletes what instances remain,
// stops it (SIGTERM, then SIGKILL) and removes its directory. A state
// record <StateDir>/incus/incusd-....json, written before the daemon
// starts, lets Collect stop a daemon a crashed isobench left: it deletes
// the daemon's instances through the daemon (started again on its
// directory if it died too), stops it, unmounts and removes its directory.
// Unprivileged containers reach their root filesystems through every
// directory above the daemon's: each must be searchable by other users, as
// Incus's own /var/lib/incus is (isobench makes its base directory 0711).
//
// # A sandbox
//
// The workload image is imported once per daemon as a unified image
// tarball, streamed: metadata.yaml (architecture, creation date, the
// isobench image id as property) and the image's root filesystem with the
// init layer of package sysinit (busybox init as /sbin/init, an inittab
// starting the agent); it is cached under the alias isobench-<image id>.
// Each sandbox is an instance named by its id, of Incus's default kind: an
// unprivileged container with an id map; no profile, a root disk on the
// pool, no network device (only lo) unless the spec asks for a network
// (below), the container's cgroups mounted
// inside (raw.lxc), limits.cpu.allowance and limits.memory for the limits,
// user.isobench.* keys naming the owner process and RunDir. The rootfs
// scratch kind is the container's own root on the pool; volume is a custom
// storage volume named like the sandbox, mounted at /scratch; tmpfs a
// tmpfs mounted by LXC (raw.lxc).
//
// Start starts the instance and polls its console log until the agent's
// Ready line (or busybox init's "can't run"). Exec runs a command through
// the exec API, non-interactive, with stdin closed; a cancelled context
// sends SIGKILL through the control websocket. Stop is `incus stop`
// (SIGPWR to busybox init, a real shutdown), forced after 10s; Close
// deletes the instance and its volume (and, in a private daemon, the log
// and runtime directories Incus 6.0 keeps of a deleted instance), then
// checks that Incus no longer lists them.
//
// A sandbox made with Spec.Network gets a NIC of type p2p: a veth pair
// Incus makes when the container starts, its host end named isbiN by
// isobench, its container end eth0 (no Incus network, bridge, DHCP or
// firewall rule). Its /30 of 169.254.64.0/19 (link-local, apart from the
// other drivers' links) is reserved by a state record
// <StateDir>/incus/net/slot-N.json written before the instance is made.
// Once the agent is ready, Start addresses both ends: the host end (.1,
// labelled with the sandbox id) and eth0 (.2) through the network
// namespace of the container's init, with netlink. Deleting the instance
// deletes the veth; Close then removes the record, and gc removes the
// records (and a host end still labelled with the sandbox id) of owners
// that no longer run.
//
// Probe starts the daemon if needed and launches a test container from a
// tiny image (a static busybox whose inittab echoes a mark on the
// console).
package incus
