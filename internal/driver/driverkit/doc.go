// Package driverkit holds what the sandbox drivers share: the pieces every
// driver needs to make things on the host, find them again and remove
// exactly them, written once.
//
// It owns:
//
//   - the mount table: ParseMountInfo reads the proc(5) mountinfo format
//     (fields unescaped), MountsAt and MountsUnder select mount points at or
//     below a directory, Unmount and RemoveDirUnmounted take things down
//     without ever reaching through a mount, RemoveRecorded takes down what
//     a state record names (its mounts, its directory), only below the
//     record's directory;
//   - isobench's directories: PrepareDirs makes the base, run and state
//     directories once, before any driver runs, with the modes unprivileged
//     system containers need (DirMode, repairing a run directory left
//     0700), and MakeRunDir is how a driver makes sure its run directory
//     exists without deciding its mode;
//   - instance directories: MakeInstanceDir and Overlay make a sandbox's
//     directory and its overlayfs root (the image's root filesystem, never
//     written, with the sandbox's writes in an upper layer), each pushing
//     its removal on an Undo as it is made;
//   - cgroups: Cgroups names the host's layout (v1, v2, hybrid, none) and
//     its cgroup mounts, CgroupProcs lists what runs in cgroup directories,
//     RemoveCgroups removes them, optionally killing what is left first;
//   - processes: ProcStartTime and Identity name a process across pid
//     reuse (a zombie counts as gone), ScanProcs walks /proc, and
//     ProcsMentioning finds the processes whose command line names an id,
//     by a rule the driver chooses (MentionsID for a whole word, ContainsID
//     for a substring), or that work in a directory;
//   - state records: Records[T] writes (atomically, exclusively with
//     Create), reads and removes one JSON file per thing isobench made in a
//     directory of driver.Env.StateDir, reporting bad files without giving
//     up on the good ones;
//   - text for messages: Clip, Tail (at a line boundary), TailBytes,
//     ReadTail, LXCLogErrors (the ERROR lines of an LXC log), and
//     TailBuffer, a writer that keeps the last bytes written to it;
//   - probes: StaticBusybox, BusyboxRootfs, RandomSuffix and
//     ProbeRunFailure, the parts of running a tiny real sandbox with a
//     timeout and saying why it did not work;
//   - life cycle: Undo, a stack of cleanup steps run newest first, each at
//     most once, with a last step (a state record's removal) kept while
//     anything else failed; Phase, an instance's state (created, running,
//     stopped, failed to start, closed); OpenSet, the ids a driver holds
//     open; ValidateSpec, the checks of a driver.Spec every driver makes
//     before it makes anything, with its own rules as SpecRules.
//
// It guarantees: nothing here removes or kills anything it was not pointed
// at by the caller (a path, an id, a cgroup directory); nothing keeps
// package-level state; every error says what was being done and where (the
// mountinfo line number, the state record's file). Where drivers differ on
// purpose — how an id is matched in a command line, whether a cgroup's tasks
// are killed before it is removed, which characters an id may hold — the
// difference is a parameter, never a silent choice made here.
package driverkit
