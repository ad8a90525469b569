// Package report renders what people read about a run: the analysis of
// package analysis, computed once, in every format, with the same
// numbers in each. A new format is one more renderer over a Report.
//
// Build makes a Report: the run's analysis (see analysis.Analyze), the
// environment as the study's Table 1 (host facts, each runtime's version
// and features, the workload tools), the method, the run-level warnings
// (those the environment capture judged, see package hostinfo, each
// runtime's, and other load on the host), the failed trials, the figures
// and curves, and the study's findings (see analysis.StudyFindings).
// Failed trials are counted and shown with their errors; warnings of the
// statistics and of the runtimes are shown with the figures they concern.
//
// # Formats
//
// Report.Write renders it as text (terminal tables), JSON (everything,
// every trial included), CSV (one row per sample, in base units),
// Markdown, the Go benchmark format (benchstat reads it unchanged:
// runtime, workload and each parameter are configuration keys, each
// metric a unit) or HTML. Text writes the terminal tables of a run
// straight from its trials. Every format but CSV and the benchmark format
// prints the section "The study's findings on this host" when the run has
// the study's workloads (the terminal table a short form, one line per
// finding).
//
// WriteComparison renders a comparison of two runs, or of two runtimes of
// one run (see analysis.CompareRuns), as benchstat-like tables, Markdown
// or JSON.
//
// # Figures
//
// The HTML page is self-contained: no script, style sheet, font or image
// is loaded from anywhere. Its figures are inline SVG: bars at the
// medians, whiskers for the medians' intervals, the ratio to the baseline
// above each bar. The figures are data (FigureSpec): the study's as the
// study drew them, each with its own axis and saying which of the study's
// figures it redraws (6: CPU latency, 7: sequential read, 8: sequential
// write and rewrite, 9: memory total time, 10: memory latency), keyed by
// workload, metric and parameters, each drawn as soon as a run has its
// samples and left out otherwise, then a chart per other workload's
// headline metrics. Curves (CurveSpec) are line charts of a metric
// against a numeric parameter, such as density's sandboxes alive.
package report
