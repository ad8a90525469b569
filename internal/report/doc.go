// Package report turns a run's trials into what people read: an analysis
// (per workload, metric and runtime: the summary with its confidence
// interval, the ratio to the baseline with its own interval, and the
// significance of the difference, corrected for the many runtimes compared
// on one metric by Holm's method), and renderings of it.
//
// The analysis is computed once, deterministically from the run (the
// bootstrap is seeded from the run's seed), and every format renders the
// same numbers. Failed trials are counted and shown with their errors;
// warnings of the statistics and of the runtimes are shown with the figures
// they concern.
package report
