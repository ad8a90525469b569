// Package testutil gives tests what many packages need: the agent binary,
// built once per test process, a minimal workload image made from it and the
// host's static busybox, and skips that say why a test cannot run here.
package testutil
