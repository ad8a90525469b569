// Package driver defines how isobench makes sandboxes: a Driver knows one
// isolation technology (a runtime, an engine, a VMM, or the bare host) and
// makes Instances of it from the workload image.
//
// Every driver promises the same life cycle, checked by the shared suite in
// drivertest: Create prepares host resources, Start runs the sandbox (once),
// Exec runs a command inside it, Stop ends it, and Close frees every host
// resource the instance made. Stop and Close are idempotent and safe after a
// failed or missing Start. A driver that cannot work on this host says so by
// returning an error that matches ErrNotSupported, with the reason.
//
// Drivers are listed in one place (package builtin) through a Registry; there
// is no global registration.
//
// What a driver makes on the host is tracked (state records in Env.StateDir,
// the IDPrefix name, labels) so that a Collector can remove, after a crash,
// exactly what isobench processes that no longer run left, and a
// LeftoverFinder can say what that is without removing it.
package driver
