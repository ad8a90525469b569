package engine

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// This file holds how the engine drivers end what a container or a daemon
// left on the host: processes (by identity, patiently: TERM before KILL)
// and mounts (detached, as a daemon may still hold them). Reading the
// process and mount tables is package driverkit's.

// hostProc is a process found in /proc.
type hostProc struct {
	id  driverkit.Identity
	cmd string
}

// procsMentioning returns the live processes, other than this one, whose
// command line contains s (within one argument).
func procsMentioning(s string) []hostProc {
	var out []hostProc
	for _, p := range driverkit.ScanProcs(func(p driverkit.Proc) bool {
		return slices.ContainsFunc(p.Args, func(a string) bool { return strings.Contains(a, s) })
	}) {
		start, ok := driverkit.ProcStartTime(p.PID)
		if !ok {
			continue
		}
		out = append(out, hostProc{id: driverkit.Identity{PID: p.PID, Start: start}, cmd: p.Cmdline})
	}
	return out
}

// killProcs sends sig to each process that is still the one found.
func killProcs(ps []hostProc, sig syscall.Signal) {
	for _, p := range ps {
		if p.id.Alive() {
			_ = syscall.Kill(p.id.PID, sig)
		}
	}
}

// endProcsMentioning ends the processes whose command line contains s:
// it gives them patience to exit by themselves, then SIGTERM, then SIGKILL
// after grace. It returns a line for each process it signalled and an
// error naming those still running.
func endProcsMentioning(s string, patience, grace time.Duration) ([]string, error) {
	ps := procsMentioning(s)
	if len(ps) == 0 || waitGone(ps, patience) {
		return nil, nil
	}
	var lines []string
	for _, p := range ps {
		if p.id.Alive() {
			lines = append(lines, fmt.Sprintf("ended process %d (%s)", p.id.PID, driverkit.Clip(p.cmd, 160)))
		}
	}
	killProcs(ps, syscall.SIGTERM)
	if waitGone(ps, grace) {
		return lines, nil
	}
	killProcs(ps, syscall.SIGKILL)
	if waitGone(ps, 5*time.Second) {
		return lines, nil
	}
	var left []string
	for _, p := range ps {
		if p.id.Alive() {
			left = append(left, strconv.Itoa(p.id.PID))
		}
	}
	return lines, fmt.Errorf("processes still running after SIGKILL: %s", strings.Join(left, ", "))
}

// waitGone waits until none of ps runs, up to limit.
func waitGone(ps []hostProc, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		running := false
		for _, p := range ps {
			if p.id.Alive() {
				running = true
				break
			}
		}
		if !running {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unmountAll detaches each mount point; a point no longer mounted is fine.
func unmountAll(points []string) ([]string, error) {
	var lines []string
	var errs []error
	for _, p := range points {
		err := syscall.Unmount(p, syscall.MNT_DETACH)
		switch {
		case err == nil:
			lines = append(lines, "unmounted "+p)
		case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ENOENT):
		default:
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return lines, errors.Join(errs...)
}
