// Package cli implements isobench's subcommands (run, doctor, setup, image,
// gc, ...) on top of the other packages. It is given everything from the
// outside world through Env — arguments, environment lookups, standard
// streams, the executable's path — and returns an exit status; only package
// main touches os.Args, os.Getenv and os.Exit.
//
// Interrupts arrive as the end of the context given to Main (the first) and
// as Env.Hurry closing (the second): a run then stops after removing the
// sandbox in flight, faster on the second, and the exit status is
// ExitInterrupted whatever failed on the way out. Before a run starts, the
// drivers are asked (driver.LeftoverFinder) what dead isobench processes
// left, and the user is told to run gc.
package cli
