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
// tools), the method, warnings, failures, figures and the study's
// findings. Report.Write renders
// it as text (terminal tables), JSON (everything, every trial included),
// CSV (one row per sample, in base units), Markdown, the Go benchmark
// format (benchstat reads it unchanged: runtime, workload and each
// parameter are configuration keys, each metric a unit) or HTML.
//
// The HTML page is self-contained: no script, style sheet, font or image is
// loaded from anywhere. Its figures are inline SVG drawn with gonum/plot:
// bars at the medians, whiskers for the medians' intervals, the ratio to the
// baseline above each bar. The figures are data (FigureSpec): the study's
// as the study drew them, each with its own axis and saying which of the
// study's figures it redraws (6: CPU latency, 7: sequential read, 8:
// sequential write and rewrite, 9: memory total time, 10: memory latency),
// keyed by workload, metric and parameters, each drawn as soon as a run
// has its samples and left out otherwise, then a chart per other
// workload's headline metrics.
//
// # The study's findings
//
// For a run of the study's workloads (cpu, memory, fileio), StudyFindings
// tests the study's six findings on this host, and every format but CSV
// and the benchmark format prints the section "The study's findings on
// this host" (the terminal table a short form, one line per finding).
// Each finding is a rule as data (findingRule): its claim, the study's
// tools it needs (each with the isobench runtimes that stand for it:
// Docker+runc is docker, when its OCI runtime is runc, or docker:runc;
// runsc is docker:runsc, else bare runsc; Incus is incus; Firecracker is
// firecracker; "runc" in findings 2 and 3 is Docker+runc, else bare runc),
// the metrics it reads and a judge of one metric. The verdict is holds,
// does not hold, cannot tell, or not run here (naming what is missing
// and, for a skipped runtime, why), with the statistic behind each part
// and notes on known artifacts (Firecracker's sequential read served
// from the guest's page cache unless fileio's drop-caches or o-direct is
// set; files on different filesystems; gVisor on ptrace). The words are
// defined on the analysis already computed (FindingsDefinitions):
//
//   - on a par, close to: medians within ±5% of each other (ParBand),
//     each known to within ±5% (its interval), else cannot tell;
//   - better, beats: better by more than 5% with the medians' 95%
//     intervals apart (the ratio intervals where a median has none);
//     more than 5% apart with overlapping intervals cannot be told;
//   - lowest overhead, best / worst, slowest: no other study tool run
//     here is better / worse (ties on a par allowed, and named);
//   - differ widely: medians a factor of 1.5 or more apart (WideFactor)
//     with intervals apart; not when even the intervals' far ends are
//     less than 1.5× apart;
//   - adds overhead: significant against the baseline (Cell.Significant)
//     and worse by more than 5%; not when within 5% of it or better.
//
// A finding holds when each part holds on each metric, does not hold
// when one part does not, and otherwise cannot tell; a metric whose
// median is 0 for a tool (below sysbench's print resolution) is left out.
//
// # Comparisons
//
// CompareRuns and CompareRuntimes compare two runs, or two runtimes of one
// run, metric by metric as benchstat does, with Holm's correction over the
// runtimes compared on each metric, and find regressions past a bound in
// each metric's own direction.
package report
