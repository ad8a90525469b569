// Package runner executes a plan: for each step it makes a fresh sandbox with
// the step's driver, starts it, runs the workload in it, and frees it, and it
// hands each finished trial to a Sink the moment it ends (the store commits
// it there), so a run that dies keeps every trial it finished.
//
// A trial that fails is kept with the runtime's or tool's own error text; a
// trial cut short by an interrupt is kept as interrupted. Cleanup of a
// sandbox always runs, on a context of its own, whatever happened to the
// trial's context.
//
// Each trial has a time limit: the plan's for its cell (a suite's timeout),
// else the workload's own (workload.TrialTimeouter), else the runner's. A
// trial that runs out of it, be it a runtime that hangs at start or a
// command that never ends, is cut short, its sandbox killed and freed, and
// it is kept as timed out; the run goes on with the next trial. An
// interrupt ends the run after the trial in flight has been freed; Hurry,
// closed on a second interrupt, makes that freeing skip the sandbox's
// graceful stop: Close still removes everything, only sooner.
//
// Run executes a plan one trial at a time; RunParallel runs N trials at
// once, each of N runners taking every Nth step of the plan's order (a
// cluster's --kube-parallel). Around a run: ProbeAll probes its runtimes
// and UsableOf keeps those that work, CheckCells leaves out the cells a
// workload cannot run on its runtime, and Begin, StoreSink and Finish
// record the run's start, each trial and its end in the store.
package runner
