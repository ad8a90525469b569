// Package workload defines what a benchmark is to isobench: a Workload has
// named parameters (with defaults and per-profile values), declares the
// metrics it reports and which way is better, checks whether it can run on a
// runtime, and runs inside a started sandbox through the agent, recording
// samples in base units.
//
// Workloads live in sub-packages (sysbench, ...) and are listed in package
// builtin. A workload never parses output it did not check: unknown or
// truncated tool output is an error naming what was missing, never a zero
// that looks like a result.
package workload
