// Package agent is the isobench agent, the one program that runs inside every
// sandbox, and the host side that talks to it.
//
// The agent is built static (CGO_ENABLED=0, standard library only) and copied
// into the workload image. It runs the commands it is given and reports each
// one as a JSON line on stdout: its output, exit status, and wall, user and
// system time measured inside the sandbox, so that what the host adds around
// a command (runtime exec, transport) never counts as the command's time.
//
// Modes (first argument):
//
//	exec [flags] -- ARGV...   run one command, print one Result line
//	batch                     run the JSON array of Requests on stdin, one Result line each
//	init                      stay alive as the sandbox's first process: print a
//	                          Ready line, reap orphans, exit 0 on SIGTERM or SIGINT
//	version                   print the agent's version
//
// Everything the host reads back is treated as hostile: lines are bounded,
// decoding never panics, and anything that is not a well-formed message is an
// error that says what was seen.
package agent
