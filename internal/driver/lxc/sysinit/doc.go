// Package sysinit is the init system of isobench's system containers (the
// lxc and incus drivers): what turns the workload image, which has no init
// of its own, into a whole system that boots like one.
//
// The init is the image's busybox, run as PID 1 (/sbin/init, a symlink to
// /bin/busybox), reading an inittab that starts the isobench agent in init
// mode as the system's one service. So a sandbox is ready when its init has
// run its sysinit actions and started the agent, which says so with its
// Ready line on the console; Exec'd commands run beside it, and a stop is
// a real shutdown (SIGPWR to busybox init: shutdown actions, SIGTERM and
// SIGKILL to every process, halt), as with any system container.
//
// Layer returns the two files that add this init to an image's root
// filesystem (/etc/inittab and /sbin/init, placed where the image's own
// symlinks lead, e.g. under usr/ on a merged-/usr image). The lxc driver
// writes them into each sandbox's overlay upper layer; the incus driver puts
// them into the image it imports. The image itself is never written.
//
// ScanConsole reads what the init wrote on the console and says whether
// the agent became ready, or why it could not start (busybox init reports
// a command it cannot run with "can't run '<command>': <reason>").
package sysinit
