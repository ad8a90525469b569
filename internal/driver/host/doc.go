// Package host is the baseline driver: no isolation at all. Commands run as
// plain host processes, but from the workload image's own files (the very
// binaries and libraries every sandbox runs), so that a difference between the
// host row and any other row is the cost of isolation, not of a different
// build.
//
// An instance is a scratch directory (on the host filesystem, or a tmpfs
// mounted by the driver) and the set of processes started in it. Close kills
// what is still running and removes the directory and mount.
package host
