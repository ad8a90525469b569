// Package builtin is the one place where isobench's drivers and workloads are
// listed. Adding a runtime or a benchmark means adding a line here; nothing
// registers itself.
package builtin
