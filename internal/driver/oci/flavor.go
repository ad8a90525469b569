package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

// flavor is what differs between the OCI runtimes this package drives.
type flavor struct {
	name      string // binary and driver name
	isolation string
	// install says how a user gets the runtime, for the not-found message.
	install string
	// hybridWorkaround: on a hybrid cgroup host run every invocation in a
	// private mount namespace where the cgroup2 mounts are unmounted (crun
	// refuses hybrid mode).
	hybridWorkaround bool
	// platforms are the gVisor platforms the default variant tries, in
	// order; nil for runtimes without platforms.
	platforms []string
	// listArgs list container ids, one a line (or a table whose first
	// column is the id).
	listArgs []string
	// stateRoot is the runtime's default state directory, when the
	// package must look into it (runsc leaves lock files of failed starts).
	stateRoot string
	// execDashes puts "--" between the container id and the command of
	// exec, for parsers that would otherwise take the command's own
	// flags (youki's); runc, crun and runsc stop parsing at the id and
	// would run "--".
	execDashes bool
	// internalPID: the runtime's exec writes the pid inside the sandbox
	// (runsc's --internal-pid-file) and `kill --pid` signals it; the host
	// pid of runsc's --pid-file is not the command's.
	internalPID bool
}

// flavorOf returns the flavor of a runtime name.
func flavorOf(name string) (flavor, bool) {
	switch name {
	case "runc":
		return flavor{name: "runc", isolation: driver.IsolationContainer, install: "isobench setup installs it (Debian package runc)",
			listArgs: []string{"list", "--quiet"}}, true
	case "crun":
		return flavor{name: "crun", isolation: driver.IsolationContainer, install: "isobench setup installs it (Debian package crun)",
			hybridWorkaround: true, listArgs: []string{"list", "--quiet"}}, true
	case "runsc":
		return flavor{name: "runsc", isolation: driver.IsolationUserKernel, install: "isobench setup installs it (Debian package runsc)",
			platforms: []string{"systrap", "kvm", "ptrace"}, listArgs: []string{"list", "--quiet"},
			stateRoot: "/var/run/runsc", internalPID: true}, true
	case "youki":
		return flavor{name: "youki", isolation: driver.IsolationContainer, install: "install a youki release binary (no Debian package has it, so isobench setup cannot)",
			listArgs: []string{"list"}, execDashes: true}, true
	}
	return flavor{}, false
}

// Runtimes lists the runtime names New accepts.
func Runtimes() []string { return []string{"runc", "crun", "runsc", "youki"} }

// runtime runs one runtime binary with the global flags of one sandbox.
type runtime struct {
	fl     flavor
	binary string // absolute path of the runtime
	// globals are global flags for the commands that make a sandbox
	// (runsc: platform and network). Other commands get none: runsc reads
	// them from the sandbox, and fails on all of them with a platform it
	// does not know, which would keep it from cleaning up.
	globals []string
	// hide lists the cgroup2 mount points to unmount in a private mount
	// namespace before each invocation (the crun hybrid workaround); sh is
	// the shell that does it.
	hide []string
	sh   string
}

// hideScript unmounts its first $1 arguments and execs the rest. Arguments
// travel as "$@", never through the script text.
const hideScript = `n=$1; shift; i=0
while [ "$i" -lt "$n" ]; do
  umount -- "$1" || { echo "isobench: cannot unmount $1 in a private mount namespace (crun's hybrid cgroup workaround)" >&2; exit 125; }
  shift; i=$((i+1))
done
exec "$@"`

// command returns the command for one invocation.
func (r runtime) command(ctx context.Context, args ...string) *exec.Cmd {
	var argv []string
	if len(args) > 0 && (args[0] == "run" || args[0] == "create") {
		argv = append(argv, r.globals...)
	}
	argv = append(argv, args...)
	if len(r.hide) == 0 {
		return exec.CommandContext(ctx, r.binary, argv...)
	}
	sargs := []string{"-c", hideScript, "sh", strconv.Itoa(len(r.hide))}
	sargs = append(sargs, r.hide...)
	sargs = append(sargs, r.binary)
	sargs = append(sargs, argv...)
	cmd := exec.CommandContext(ctx, r.sh, sargs...)
	// A new mount namespace for the shell and the runtime it becomes; Go
	// makes its mounts private, so the unmount does not reach the host.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	return cmd
}

// runError is a runtime invocation that failed, with what it said.
type runError struct {
	what   string // e.g. "runc delete --force isobench-x"
	err    error
	stderr string
}

func (e *runError) Error() string {
	if e.stderr == "" {
		return e.what + ": " + e.err.Error()
	}
	return e.what + ": " + e.err.Error() + ": " + e.stderr
}

func (e *runError) Unwrap() error { return e.err }

// run runs one invocation to its end and returns its stdout.
func (r runtime) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := r.command(ctx, args...)
	var stdout bytes.Buffer
	stderr := driverkit.NewTailBuffer(4096)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &runError{what: r.fl.name + " " + strings.Join(args, " "), err: err, stderr: driverkit.Tail(stderr.String(), 1000)}
	}
	return stdout.Bytes(), nil
}

// containerState is the part of `<runtime> state` output isobench reads.
type containerState struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	PID    int    `json:"pid"`
	Bundle string `json:"bundle"`
}

// saysNotExist reports whether a runtime's message says it does not know a
// container id.
func saysNotExist(msg string) bool {
	msg = strings.ToLower(msg)
	for _, s := range []string{"does not exist", "doesn't exist", "not found", "no such file", "cannot find", "not exist"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// state returns the container's state; exists is false when the runtime
// does not know the id.
func (r runtime) state(ctx context.Context, id string) (st containerState, exists bool, err error) {
	out, err := r.run(ctx, "state", id)
	if err != nil {
		var re *runError
		if errors.As(err, &re) && saysNotExist(re.stderr) {
			return st, false, nil
		}
		return st, false, err
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return st, true, fmt.Errorf("%s state %s: parsing its output: %w (got %q)", r.fl.name, id, err, driverkit.Clip(string(out), 200))
	}
	if st.ID != "" && st.ID != id {
		// runsc looks ids up by prefix: an id it no longer knows finds
		// another sandbox whose id it starts ("isobench-x-1" finds
		// "isobench-x-10"). That one is not this, and this id is gone.
		// (With two ids of which one starts the other alive at once,
		// runsc calls both ambiguous: see runner.SandboxID.)
		return containerState{}, false, nil
	}
	return st, true, nil
}

// execArgs returns the arguments of `exec` for argv in container id,
// writing the command's pid to pidFile.
func (r runtime) execArgs(id, pidFile string, argv []string) []string {
	flag := "--pid-file"
	if r.fl.internalPID {
		flag = "--internal-pid-file"
	}
	args := []string{"exec", flag, pidFile, id}
	if r.fl.execDashes {
		args = append(args, "--")
	}
	return append(args, argv...)
}

// killExec sends SIGKILL to a command started by exec, given the pid it
// wrote.
func (r runtime) killExec(ctx context.Context, id string, pid int) error {
	if r.fl.internalPID {
		_, err := r.run(ctx, "kill", "--pid", strconv.Itoa(pid), id, "KILL")
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("killing pid %d: %w", pid, err)
	}
	return nil
}

// list returns the ids the runtime knows.
func (r runtime) list(ctx context.Context) ([]string, error) {
	out, err := r.run(ctx, r.fl.listArgs...)
	if err != nil {
		return nil, err
	}
	return parseList(string(out)), nil
}

// parseList reads container ids from a quiet list (one id a line) or a
// table whose first column is the id (under a header line).
func parseList(s string) []string {
	var ids []string
	for i, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if i == 0 && len(f) > 1 && (strings.EqualFold(f[0], "ID") || strings.EqualFold(f[0], "NAME")) {
			continue
		}
		ids = append(ids, f[0])
	}
	return ids
}

// version runs `<binary> --version` and returns the version it reports.
func (r runtime) version(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, r.binary, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w: %s", r.binary, err, driverkit.Clip(string(out), 300))
	}
	return parseVersion(string(out)), nil
}

// parseVersion takes "runc version 1.1.5+ds1" (first line) to "1.1.5+ds1";
// output of another shape is returned as its first line.
func parseVersion(out string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	f := strings.Fields(first)
	for i := 0; i+1 < len(f); i++ {
		if strings.EqualFold(f[i], "version") {
			return f[i+1]
		}
	}
	return strings.TrimSpace(first)
}
