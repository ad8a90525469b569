// Package density is the density workload: many sandboxes alive at once,
// and what each costs the host.
//
// Parameter n lists the counts to measure, one cell each (the density
// curve of reports), or is "ramp": start until max, or until the first
// sandbox that fails to start, whose error the trial keeps
// (density.stopped_by) while its figures are those of the sandboxes that
// did start. In list mode a failed start fails the trial, with the count
// that was reached in its error.
//
// A trial starts the sandboxes (parallel at a time; one after another by
// default), each with its own id from the runner (ids of one trial are never
// prefixes of one another: see runner.SandboxID), and records:
//
//   - start_median: the median time to create and start one sandbox;
//     start_slowdown: the median of the last quarter of starts over that of
//     the first, above 1 when starts slow down as sandboxes accumulate;
//   - all_ready: from the first create to the last sandbox ready, and
//     start_rate: sandboxes per second over it;
//   - after waiting settle: pss_per_sandbox and rss_per_sandbox, the sum
//     over every host process of every sandbox (driver.HostProcesses:
//     the agent for the host baseline; the container's processes for
//     runc and crun; sentry, gofer and platform stubs for runsc; a VMM
//     process for a VM) of its proportional and resident set sizes, from
//     /proc/PID/smaps_rollup, divided by the sandboxes; the proportional
//     set divides each shared page among the processes sharing it, so
//     that it adds up across sandboxes; processes_per_sandbox; and
//     cgroup_memory_per_sandbox, the memory charged to the sandboxes'
//     cgroups (driver.HostCgroups: memory.usage_in_bytes or memory.current,
//     page cache and kernel memory included), which overlaps the PSS;
//   - teardown: the time to stop and close them all (at least 4 at once).
//
// A figure the runtime's driver cannot give (no host processes, no cgroup)
// is left out and the trial says why. Teardown always runs, also when a
// start failed or the trial was interrupted, on contexts of its own; Close
// checks that nothing of a sandbox is left, and its errors fail the trial.
package density
