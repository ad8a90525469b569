// Package sysbench holds the workloads that run sysbench inside a sandbox —
// cpu, memory and fileio, the benchmarks of the study — and the parser of
// sysbench's text report.
//
// The parser reads sysbench 1.0's report into sections of key/value lines
// and converts each figure to base units (latencies from milliseconds to
// seconds, sizes from MiB to bytes). A figure a workload needs that is absent
// or malformed is an error naming it, with sysbench's own FATAL lines when
// it printed any; the parser never invents a zero, and a truncated report
// records nothing.
//
// Precision: sysbench prints latencies in milliseconds with two decimals.
// The average is derived from the sum over all events (same two decimals on
// a far larger number), so it keeps full precision even for memory blocks
// of a tenth of a microsecond; min, max and the 95th percentile cannot, and
// every trial carries the attribute resolution.METRIC = 1e-05 (seconds)
// for them: a recorded 0 means "under 5 µs", and tables show it so.
//
// memory runs until the total size is transferred (time=0 by default), so
// that its total time measures the transfer; the attribute memory.ended_by
// says whether total-size or the time limit ended a run.
//
// fileio runs, in one fresh sandbox per trial: fsinfo on the scratch
// directory, sysbench fileio prepare, the page-cache step (package
// storage), the timed run, and cleanup; only the run is measured. Its mode
// parameter lists modes (default seqrd,seqwr,seqrewr, the study's read,
// write and rewrite), and the plan makes one cell per mode (plan.Sweeper).
// A mode records the figures of what it does: read MiB/s and reads/s if it
// reads, written MiB/s, writes/s and fsyncs/s if it writes.
package sysbench
