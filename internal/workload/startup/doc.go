// Package startup is the startup workload: the life of a sandbox, timed in
// phases on the host's monotonic clock, for each runtime.
//
// Each trial makes fresh sandboxes one after another (parameter starts;
// ids from the runner's Target.NewSpec) and takes each through its whole
// life with Cycle:
//
//	create       Driver.Create returned: host resources made, nothing runs
//	start        Create returned → the runtime's start operation returned
//	ready        the runtime's start returned → the host read the agent's
//	             Ready line, the first message from inside the sandbox
//	start_ready  start + ready: the whole Instance.Start call
//	exec         Instance.Exec of a trivial command (parameter exec,
//	             /bin/true), from call to return
//	stop         Instance.Stop: from the call until the sandbox's init is
//	             gone (its process exited, or the runtime says stopped);
//	             the runtime still has its record of the sandbox
//	delete       Instance.Close: the runtime's delete of that record, then
//	             every host resource freed and checked gone
//	total        Create called → Close returned
//
// Run to completion. With oneshot=true each trial also makes starts
// sandboxes whose only process is the exec command, run by the runtime in
// the foreground (driver.OneShot: `runc run` as a user types it, what
// `docker run --rm` does): oneshot is that run alone, oneshot_total create
// to delete. Drivers without it leave the figures out and the trial says so.
//
// The boundary between start and ready is the driver's (driver.StartTimer);
// a driver without it reports start_ready only, and the trial says so. Per
// driver:
//
//   - host: start is the fork and exec of the image's agent as a host
//     process; ready its Ready line read from the agent's stdout pipe.
//     exec forks the command; stop is SIGTERM to the agent; delete removes
//     the scratch directory and state record.
//   - runc, crun, youki, runsc (package driver/oci): create makes the
//     state record, overlay mount and bundle; start is `<runtime> run
//     --detach` until it exits (runc: the container's init has exec'd
//     the agent; runsc: the sandbox, gofer and sentry are up and the
//     container started); ready is until the Ready line appears in the
//     sandbox's log, which the driver reads at most 1 ms apart; exec is
//     `<runtime> exec`; stop is kill TERM, waiting for the init to exit
//     (or, for runsc, whose sandbox process outlives the init until the
//     delete, for `runsc state` to say stopped); delete is `<runtime>
//     delete --force`, the overlay unmount, the removal of cgroups,
//     directory and record, and the check that nothing is left.
//     crun on a hybrid cgroup host runs each command through a shell in a
//     private mount namespace (the run says so in a warning).
//   - other drivers document their boundaries beside their StartTimer
//     (driver.StartTiming says what Launched means for a VMM or engine).
//
// Cold and warm. With cold=true each trial first writes back and drops the
// host's page cache (through the runner's host operations) and then
// starts one sandbox, whose phases are the cold_* figures: a start that
// must read the runtime, the image's files and the agent from disk, as
// the first start after an image build or a reboot does. The other
// sandboxes of the trial are warm: their files are in the page cache.
//
// Statistics. A trial's sample of each phase is the median of its warm
// sandboxes, so that intervals, ratios and tests count trials, the unit
// repeated independently in the interleaved order. Every single value is
// kept too (workload.PooledRaw), and reports show the pooled median, p95
// and p99 of all starts of a cell as its tail, p95 from 20 values and p99
// from 100 (e.g. 10 trials of 10 starts), without an interval.
//
// The exec command is the user's to choose, and runs in every sandbox,
// which for the host baseline is the host itself, as root: a command other
// than the default is disclosed (workload.Discloser) before a run or a
// suite check goes on.
package startup
