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
//	vm                        a VM guest's PID 1 (started by the initramfs):
//	                          mount /proc, /sys, /dev and the scratch, then
//	                          serve the host over the serial console through
//	                          a Link (frames that survive the kernel's log
//	                          lines) until told to power off
//	syscalls [-n N] [-rounds R] [-ops getpid,read,openclose] [-file PATH]
//	                          time simple system calls in a tight loop (raw
//	                          calls from one locked thread) and print one
//	                          JSON line (SyscallReport): per operation, the
//	                          time per call of each round of N calls
//	pong -listen ADDR -conns N
//	                          TCP echo server for the net workload: echo each
//	                          of N connections until it closes, then print one
//	                          JSON line (PongReport)
//	stream -connect ADDR -send|-recv [-time D]
//	                          one side of the net workload's bulk TCP transfer:
//	                          send for D, or receive to the end and write the
//	                          count back; print one JSON line (StreamReport)
//	fsinfo PATH               print one JSON line (FSInfo) describing the
//	                          filesystem holding PATH: statfs and the mount
//	                          table entry, as seen inside the sandbox
//
// Everything the host reads back is treated as hostile: lines are bounded,
// decoding never panics, and anything that is not a well-formed message is an
// error that says what was seen.
package agent
