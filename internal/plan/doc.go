// Package plan turns a suite (what to measure) into a plan (which trials, in
// which order): the matrix of runtimes × workloads × parameters becomes cells,
// each cell gets its warm-ups and measured trials, and the trials are ordered
// by a seeded random generator so that the same seed always gives the same
// order.
//
// The default order is interleaved: trials go in rounds, each round holding
// one trial of every cell in a fresh random order, so a drift of the machine
// over the run (heat, other load, page cache) spreads over every runtime
// instead of favouring the ones measured first. The blocks order runs all
// trials of one cell together, for comparison.
//
// A suite comes from flags or from a suite file (ParseSuite,
// LoadSuiteFile): YAML read strictly, node by node, so that every unknown
// field, value of the wrong type or impossible value is reported with the
// file, line, column and field path, all problems of a file at once, and
// workload parameters are checked by the workloads themselves. A list of
// values for a parameter sweeps it. The loader is fuzzed; it never panics
// and bounds what a file may expand into. From the command line, WorkloadsOf,
// NewSeed and ParsePercent build the suite's parts.
//
// A stored run is resumed with its own suite (Resume): Remaining gives the
// trials it still lacks, numbered on from its last stored one, keeping the
// trials of runtimes that cannot run now; MergeRuntimes and EnvChanges say
// what changed since the run started.
package plan
