// Package storage holds what the file workloads (sysbench fileio, fio) share
// about where their files live and what state the page cache is in.
//
// Every file workload has a "scratch" parameter (rootfs, the sandbox's own
// copy-on-write root; volume, a host directory bind-mounted in; tmpfs,
// memory) that the runner turns into the sandbox's scratch directory, and a
// "drop-caches" parameter. Describe asks the agent inside the sandbox which
// filesystem the scratch directory is on (type, source, mount options, as
// the sandbox sees them) and records it as trial attributes; SettleCache
// writes dirty data back and, when asked, drops the host's page cache and,
// for sandboxes with a kernel of their own (gVisor, VMs), tries the
// sandbox's too, recording exactly what was dropped and what was not.
//
// Attribute keys written here start with "scratch." and "cache.".
package storage
