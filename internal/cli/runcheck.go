package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/outputfile"
	"github.com/isobench/isobench/internal/plan"
)

// The checks of run's flags. Flags are untrusted input, and isobench runs
// as root: every one is checked before the image is built, a runtime
// probed or the run recorded, so that a typo leaves nothing behind. The
// bounds that a suite file shares (trials, warm-ups, the plan's size,
// workload parameters) are the plan's (plan.Expand), which run calls
// before any work too.

// checkRunFlags checks the flags that need neither the suite nor the
// runtimes, and returns the --target-ci fraction (0 without it).
func checkRunFlags(f runFlags) (target float64, err error) {
	changed := f.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	if changed("runtimes") {
		if err := plan.CheckNames("--runtimes", f.runtimes, "leave the flag out for every runtime that works here"); err != nil {
			return 0, err
		}
	}
	if f.file == "" || changed("workloads") {
		if err := plan.CheckNames("--workloads", f.workloads, "name at least one workload, e.g. --workloads cpu"); err != nil {
			return 0, err
		}
	}
	// A flag given empty is a mistake, never a way back to its default.
	for name, v := range map[string]string{
		"baseline": f.baseline, "file": f.file, "resume": f.resume, "image": f.image, "agent": f.agent,
		"json": f.jsonOut, "report": f.report, "scratch": f.scratch, "profile": f.profile, "order": f.order,
	} {
		if changed(name) && strings.TrimSpace(v) == "" {
			return 0, fmt.Errorf("--%s is empty: give a value or leave the flag out", name)
		}
	}
	if err := plan.CheckTimeout(f.timeout); err != nil {
		return 0, fmt.Errorf("--timeout %w", err)
	}
	if changed("target-ci") || f.targetCI != "" {
		if target, err = plan.ParsePercent(f.targetCI); err != nil {
			return 0, fmt.Errorf("--target-ci: %w", err)
		}
	}
	if changed("max-trials") && target == 0 {
		return 0, errors.New("--max-trials without --target-ci: it bounds the trials the adaptive stop adds (use --trials for a fixed number)")
	}
	if f.scratch != "" && f.file == "" && !plan.AnyHasParam(builtin.Workloads(), f.workloads, "scratch") {
		return 0, fmt.Errorf("--scratch %s: no workload of the run (%s) has a scratch parameter", f.scratch, strings.Join(f.workloads, ","))
	}
	if err := outputfile.Check("--json", f.jsonOut); err != nil {
		return 0, err
	}
	if err := outputfile.Check("--report", f.report); err != nil {
		return 0, err
	}
	if f.jsonOut != "" && f.jsonOut == f.report {
		return 0, fmt.Errorf("--json and --report name the same file %s", f.jsonOut)
	}
	return target, nil
}

// checkRunRuntimes checks the runtimes of a run before any is probed:
// each name --runtimes gives is one this isobench knows (a suite file's
// are checked as it is read), and a baseline the user chose is among the
// runtimes of the run. A default baseline (host) that the run leaves out
// only loses the ratios, as run says.
func (a *app) checkRunRuntimes(f runFlags, baseline string, names []string, reg *driver.Registry, onCluster bool) error {
	if f.changed != nil && f.changed("runtimes") && !onCluster && f.file == "" {
		denv, err := a.driverEnv()
		if err != nil {
			return err
		}
		for _, name := range f.runtimes {
			d, err := reg.New(denv, name)
			if err != nil {
				return withStatus(ExitUsage, fmt.Errorf("--runtimes: %w", err))
			}
			_ = driver.CloseDriver(d) // made, not probed: it holds nothing
		}
	}
	if f.changed != nil && f.changed("baseline") && !slices.Contains(names, baseline) {
		return withStatus(ExitUsage, fmt.Errorf("--baseline %q is not among the runtimes of the run (%s)", baseline, strings.Join(names, ", ")))
	}
	return nil
}

// checkAdaptive checks --max-trials against the plan before any work: at
// least the plan's trials, and within the plan's bound on its size when
// every cell reaches it.
func checkAdaptive(f runFlags, target float64, p *plan.Plan) error {
	if target == 0 {
		return nil
	}
	if f.maxTrials < p.Suite.Trials {
		return fmt.Errorf("--max-trials %d is below --trials %d", f.maxTrials, p.Suite.Trials)
	}
	if err := plan.CheckSteps(len(p.Cells), p.Suite.Warmups, f.maxTrials); err != nil {
		return fmt.Errorf("--max-trials %d: %w", f.maxTrials, err)
	}
	return nil
}
