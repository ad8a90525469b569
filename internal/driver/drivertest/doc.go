// Package drivertest is the suite every driver passes: Run takes a driver
// and a workload image and checks, on the real runtime, the life cycle the
// driver package promises — Create, Start once, Exec with stdout and stderr
// kept apart and exact, a non-zero exit as *driver.ExitError, the agent
// working inside, Stop and Close idempotent and safe in any order and after
// a failed Start, a Start bounded by its context when the agent never gets
// ready, an error (not a hang) from Exec on a stopped sandbox, bad specs
// refused without a panic, two sandboxes at once not seeing each other,
// every scratch kind, no network when none was asked for, and with
// Spec.Network the contract of driver.Network: a driver.Networker whose
// /30 link the sandbox uses to reach a listener on the host end, and whose
// host device goes with Close (a driver without a network returns
// ErrNotSupported from Create, and the subtest skips with its reason).
//
// After every subtest the suite checks that nothing of the subtest's
// sandboxes is left on the host: no mount and no process naming the id, and
// (given the driver's Env) nothing under its run and state directories; a
// driver adds its own checks (its runtime's list, its cgroups) with
// WithLeakCheck. A driver that cannot do something (the host baseline has
// no network isolation) says so with an Option, and the subtest is skipped
// with that reason, never silently.
package drivertest
