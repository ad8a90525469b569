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
// they concern, and run-level warnings (those the environment capture
// judged, see package hostinfo, and each runtime's) in every format.
//
// # Formats
//
// Build makes a Report: the analysis, the environment as the study's
// Table 1 (host facts, each runtime's version and features, the workload
// tools), the method, warnings, failures and figures. Report.Write renders
// it as text (terminal tables), JSON (everything, every trial included),
// CSV (one row per sample, in base units), Markdown, the Go benchmark
// format (benchstat reads it unchanged: runtime, workload and each
// parameter are configuration keys, each metric a unit) or HTML.
//
// The HTML page is self-contained: no script, style sheet, font or image is
// loaded from anywhere. Its figures are inline SVG drawn with gonum/plot:
// bars at the medians, whiskers for the medians' intervals, the ratio to the
// baseline above each bar. The figures are data (FigureSpec): the study's
// (CPU latency, sequential file I/O, memory time and latency) keyed by
// workload, metric and parameters, each drawn as soon as a run has its
// samples and left out otherwise, then a chart per other workload's
// headline metrics.
//
// # Comparisons
//
// CompareRuns and CompareRuntimes compare two runs, or two runtimes of one
// run, metric by metric as benchstat does, with Holm's correction over the
// runtimes compared on each metric, and find regressions past a bound in
// each metric's own direction.
package report
