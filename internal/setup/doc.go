// Package setup installs what isobench runs on a Debian-like host: the
// runtimes and workload tools the distribution packages (Packages, with
// apt-get; what is installed already is left alone), the distribution's
// backports suite when a package is only there (one apt source that copies
// the mirror, keys and components of the distribution's own, deb822 or
// one-line), and a current gVisor built from its Go module at a pinned
// version with a few patches made on a copy (Gvisor).
//
// Each step prints to the writer it is given what it finds and what it
// does, and with DryRun only what it would do. The setup subcommand of
// package cli is its only caller: flags and output there, the work here.
package setup
