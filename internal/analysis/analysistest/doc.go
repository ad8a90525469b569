// Package analysistest makes the runs that the tests of package analysis
// and of its renderers (package report) analyse: stored fixtures read
// back, real runs changed in known ways (a metric scaled, a runtime gone
// or failed, fewer trials), and a synthetic run of the study's workloads
// and tools with chosen medians.
package analysistest
