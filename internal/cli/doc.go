// Package cli implements isobench's subcommands (run, doctor, setup, image,
// gc, ...) on top of the other packages. It is given everything from the
// outside world through Env — arguments, environment lookups, standard
// streams, the executable's path — and returns an exit status; only package
// main touches os.Args, os.Getenv and os.Exit.
package cli
