package drivertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// leftovers reports what of sandbox id is still on the host. Processes get
// a moment to finish exiting before they count.
func (s *suite) leftovers(id string) error {
	var errs []error
	if m := mountsNaming(id); len(m) > 0 {
		errs = append(errs, fmt.Errorf("mounts naming %s: %s", id, strings.Join(m, "; ")))
	}
	procs := procsNaming(id)
	for deadline := time.Now().Add(2 * time.Second); len(procs) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		procs = procsNaming(id)
	}
	if len(procs) > 0 {
		errs = append(errs, fmt.Errorf("processes naming %s: %s", id, strings.Join(procs, "; ")))
	}
	if s.cfg.env != nil {
		if p := pathsNaming(s.cfg.env.RunDir, id, false); len(p) > 0 {
			errs = append(errs, fmt.Errorf("under the run directory: %s", strings.Join(p, ", ")))
		}
		if p := pathsNaming(s.cfg.env.StateDir, id, true); len(p) > 0 {
			errs = append(errs, fmt.Errorf("under the state directory: %s", strings.Join(p, ", ")))
		}
	}
	for _, c := range s.cfg.leakChecks {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.check(ctx, id)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// mountsNaming returns the lines of this process's mount table that
// mention id.
func mountsNaming(id string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{"cannot read the mount table: " + err.Error()}
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, id) {
			out = append(out, line)
		}
	}
	return out
}

// procsNaming returns the processes (but this one) whose command line or
// working directory mentions id.
func procsNaming(id string) []string {
	if _, err := os.ReadDir("/proc"); err != nil {
		return []string{"cannot read /proc: " + err.Error()}
	}
	var out []string
	for _, p := range driverkit.ScanProcs(func(p driverkit.Proc) bool {
		return strings.Contains(p.Cmdline, id) || strings.Contains(p.Cwd, id)
	}) {
		out = append(out, fmt.Sprintf("pid %d cmdline %q cwd %q", p.PID, clip(p.Cmdline), p.Cwd))
	}
	return out
}

// pathsNaming returns the paths under root whose name mentions id, or, with
// content, whose content does (for small regular files).
func pathsNaming(root, id string, content bool) []string {
	var out []string
	_ = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.Contains(e.Name(), id) {
			out = append(out, path)
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if content && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil && fi.Size() < 1<<20 {
				if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(id)) {
					out = append(out, path+" (mentions it)")
				}
			}
		}
		return nil
	})
	return out
}
