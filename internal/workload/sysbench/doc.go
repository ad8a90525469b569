// Package sysbench holds the workloads that run sysbench inside a sandbox
// (cpu, and the memory and fileio benchmarks of the study) and the parser of
// sysbench's text report.
//
// The parser reads sysbench 1.0's report into sections of key/value lines
// and converts each figure to base units (latencies from milliseconds to
// seconds, sizes from MiB to bytes). A figure a workload needs that is absent
// or malformed is an error naming it; the parser never invents a zero.
package sysbench
