// Package fio holds the fio workload: fio's built-in style jobs (sequential
// and random reads and writes, one cell each) or a user's job file, run in
// the sandbox's scratch directory and read from fio's JSON output.
//
// A trial describes the scratch filesystem (storage.Describe), lays the
// files out with fio --create_only (outside the measurement), settles the
// page cache (storage.SettleCache), then runs the job and records bandwidth,
// IOPS and completion latency (mean, p50, p95, p99) per direction that did
// I/O. A user's job file is read on the host, checked (size, text) and
// written into the scratch directory through the agent before the run.
//
// A job file is untrusted input (it may come from a suite file) run with
// the sandbox's privileges, which for the host baseline are root's on the
// host. It is scanned as fio reads it (jobfile.go): options that run
// commands or load code (exec_prerun, exec_postrun, ioengine=exec and its
// program=, an ioengine that is not one of fio's own) are refused unless
// the command line grants workload.Grants.AllowExec (isobench run
// --allow-exec); what the scan cannot check (include directives, option
// names with '$', over-long lines, control characters) is refused always.
// The workload discloses (workload.Discloser) the file, the commands it
// was allowed to run and the files outside the scratch directory it names.
// A trial keeps the file's name and sha256 digest; its text, and the
// options fio's output repeats, only with Grants.StoreProfile
// (--store-profile).
//
// The parser treats fio's output as hostile: its size is bounded, it must
// hold exactly one job group (fio is run with --group_reporting), every
// figure must be present and finite, and a direction that should have done
// I/O and did none is an error, never a zero.
package fio
