// Package analysis computes what isobench's reports say about stored
// runs, as plain data that every format renders the same way (package
// report renders it).
//
// Analyze makes the Analysis of one run: per workload group, metric and
// runtime, the summary with its confidence interval, the ratio to the
// baseline with its own interval, and the significance of the difference,
// corrected for the many runtimes compared on one metric by Holm's method;
// the tails of the single values some workloads keep (TailRow); and each
// runtime's trial counts, errors and the facts its trials agreed on. It is
// computed once and deterministically: the bootstrap is seeded from the
// run's seed. RunWarnings and DeadCells say what a run's outcome was: the
// warnings about the whole run, and the cells whose every trial failed.
//
// # The study's findings
//
// For a run of the study's workloads (cpu, memory, fileio), StudyFindings
// tests the study's six findings on this host. Each finding is a rule as
// data (findingRule): its claim, the study's tools it needs (each with
// the isobench runtimes that stand for it: Docker+runc is docker, when its
// OCI runtime is runc, or docker:runc; runsc is docker:runsc, else bare
// runsc; Incus is incus; Firecracker is firecracker; "runc" in findings 2
// and 3 is Docker+runc, else bare runc), the metrics it reads and a judge
// of one metric. The verdict is holds, does not hold, cannot tell, or not
// run here (naming what is missing and, for a skipped runtime, why), with
// the statistic behind each part and notes on known artifacts
// (Firecracker's sequential read served from the guest's page cache
// unless fileio's drop-caches or o-direct is set; files on different
// filesystems; gVisor on ptrace). The words are defined on the analysis
// already computed (FindingsDefinitions):
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
// each metric's own direction. Every cell they could not judge is listed
// with its reason (Unjudged: in one side only, or without enough
// successful trials); Blocking says which of those a gate must not pass
// over.
//
// The package lays out no tables: its only words are those its data
// needs (a finding's evidence, the reason a cell was not judged), with
// values in their units (FormatValue) and parameters as "k=v"
// (ParamsText).
package analysis
