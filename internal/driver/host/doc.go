// Package host is the baseline driver: no isolation at all. Commands run as
// plain host processes, but from the workload image's own files (the very
// binaries and libraries every sandbox runs), so that a difference between the
// host row and any other row is the cost of isolation, not of a different
// build.
//
// An instance is a scratch directory (on the host filesystem, or a tmpfs
// mounted by the driver), the image's agent in init mode, started by
// Start as a plain host process (it stands for the sandbox: Start ends when
// its Ready line arrives, as every sandbox's start does, and its process
// is the instance's for density), and the set of processes started in it.
// Stop ends them; Close kills what is still running and removes the
// directory and mount. gc kills processes whose working directory is in
// an instance of a dead isobench.
//
// With Spec.Network the instance gets a veth link into a network
// namespace of its own (package sandboxnet), and the agent and every
// command start in that namespace: the baseline of the net workload, the
// same link as a container's with nothing else isolated.
//
// Instances implement driver.StartTimer, driver.HostProcesses and
// driver.Networker.
package host
