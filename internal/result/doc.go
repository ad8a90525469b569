// Package result holds the plain data that flows from the runner to the
// store, the statistics and the reports: runs, trials and samples.
//
// Every value is in base units (seconds, bytes, bytes per second, operations
// per second). Nothing in this package does I/O; it is shared vocabulary so
// that the packages below the runner never need to import each other.
package result
