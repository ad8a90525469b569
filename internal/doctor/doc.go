// Package doctor says which runtimes work on this host, and exactly why the
// others do not. It turns the runtimes' probes, the host's facts and the
// checks of the tools they need (the workload tools, the agent, KVM, the
// guest kernel) into one Report, and renders it: a short table no wider
// than Width columns, every detail (-v, or one runtime), or a JSON document
// for scripts whose fields are only ever added within SchemaVersion.
//
// The package probes no runtime itself: the command gives it the probes
// (runner.ProbeAll, as a run makes them), so that what it says is exactly
// what a run would find.
package doctor
