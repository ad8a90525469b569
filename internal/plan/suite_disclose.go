package plan

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/isobench/isobench/internal/workload"
)

// Disclose writes, before anything runs, every command of the user's the
// suite will run and every host file it will read, saying where (see
// workload.Discloser); nothing when there is none. A workload that refuses
// its parameters (a job file that runs commands, without the grant) is the
// error.
func Disclose(w io.Writer, s Suite, wreg *workload.Registry) error {
	// hostRuntime is the runtime that runs workloads as plain host
	// processes.
	const hostRuntime = "host"
	p, err := Expand(s, wreg)
	if err != nil {
		return err
	}
	var host bool
	var sandboxes []string
	for _, rt := range s.Runtimes {
		if name, _, _ := strings.Cut(rt, ":"); name == hostRuntime {
			host = true
		} else {
			sandboxes = append(sandboxes, rt)
		}
	}
	var where []string
	if host {
		where = append(where, "on this host itself, as root (runtime host)")
	}
	if len(sandboxes) > 0 {
		where = append(where, "in the sandboxes of "+strings.Join(sandboxes, ", "))
	}
	sandboxed := strings.Join(where, ", and ")
	var commands, files []string
	seen := map[string]bool{}
	for _, c := range p.Cells {
		wl, err := wreg.Get(c.Workload)
		if err != nil {
			return err
		}
		d, ok := wl.(workload.Discloser)
		if !ok {
			continue
		}
		ds, err := d.Disclose(c.Params)
		if err != nil {
			return fmt.Errorf("workload %s: %w", c.Workload, err)
		}
		for _, x := range ds {
			at := "by isobench, on this host, for every runtime"
			if x.Sandboxed {
				at = sandboxed
			}
			line := fmt.Sprintf("  %s.%s: %s\n      %s\n      where: %s\n", c.Workload, x.Param, shown(x.What), shown(x.Note), at)
			if seen[line] {
				continue
			}
			seen[line] = true
			if x.Kind == workload.DiscloseCommand {
				commands = append(commands, line)
			} else {
				files = append(files, line)
			}
		}
	}
	switch {
	case len(commands) > 0:
		fmt.Fprintf(w, "This suite will run these commands:\n%s", strings.Join(commands, ""))
		if len(files) > 0 {
			fmt.Fprintf(w, "and read these host files:\n%s", strings.Join(files, ""))
		}
	case len(files) > 0:
		fmt.Fprintf(w, "This suite will read these host files:\n%s", strings.Join(files, ""))
	}
	return nil
}

// shown makes a value from a suite or a job file safe to print: one that
// holds control characters (a terminal's escapes, a line break) is quoted.
func shown(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}

// WithGrants gives the suite's workloads that take grants (fio) the grants
// of the command line, as reserved parameters (see workload.Grants): only
// the command line grants. A reserved name the user set with --set is
// refused; a suite file's are refused when it is read.
func (s Suite) WithGrants(wreg *workload.Registry, g workload.Grants) (Suite, error) {
	gp := g.Params()
	wcs := make([]WorkloadConfig, len(s.Workloads))
	for i, wc := range s.Workloads {
		for k := range wc.Set {
			if workload.IsReserved(k) {
				return s, fmt.Errorf("workload %s: parameter %q is reserved: give --allow-exec or --store-profile instead", wc.Name, k)
			}
		}
		w, err := wreg.Get(wc.Name)
		if err != nil {
			return s, err
		}
		if gt, ok := w.(workload.GrantTaker); ok && gt.TakesGrants() && len(gp) > 0 {
			set := map[string]string{}
			for k, v := range wc.Set {
				set[k] = v
			}
			for k, v := range gp {
				set[k] = v
			}
			wc.Set = set
		}
		wcs[i] = wc
	}
	s.Workloads = wcs
	return s, nil
}
