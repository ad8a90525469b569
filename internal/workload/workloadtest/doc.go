// Package workloadtest runs a workload for real in tests: one trial of one
// cell, through the real runner, on the host baseline or a real OCI runtime,
// with the real workload image (built once per test process into a shared
// cache under the checkout's bin/test). Tests that need root or a runtime
// binary skip with the reason when it is absent.
//
// It imports the drivers directly, not package builtin, so that a
// workload's own (internal) tests may use it without an import cycle.
package workloadtest
