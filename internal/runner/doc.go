// Package runner executes a plan: for each step it makes a fresh sandbox with
// the step's driver, starts it, runs the workload in it, and frees it, and it
// hands each finished trial to a Sink the moment it ends (the store commits
// it there), so a run that dies keeps every trial it finished.
//
// A trial that fails is kept with the runtime's or tool's own error text; a
// trial cut short by an interrupt is kept as interrupted. Cleanup of a
// sandbox always runs, on a context of its own, whatever happened to the
// trial's context.
package runner
