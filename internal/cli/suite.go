package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/inputfile"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/workload"
)

func (a *app) suiteCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "suite",
		Short: "Work with suite files (what isobench run -f reads)",
	}
	var allowExec bool
	check := &cobra.Command{
		Use:   "check FILE...",
		Short: "Check suite files without running anything",
		Long: `Read each suite file strictly, as isobench run -f does, and say what is wrong
with it: an unknown field, a value of the wrong type or an impossible value is
reported with the file, line and field. Runtime names and variants, workload
names and parameter values are checked against this isobench; whether a
runtime works on this host is not (see isobench doctor). Prints a summary of
each good file, with every command of the user's it would run and every host
file it would read. A fio job file that runs commands is refused unless
--allow-exec is given, as isobench run refuses it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.suiteCheck(cmd.Context(), args, workload.Grants{AllowExec: allowExec}, cmd.OutOrStdout())
		},
	}
	check.Flags().BoolVar(&allowExec, "allow-exec", false, allowExecDoc)
	cmd.AddCommand(check)
	return cmd
}

// known is what suite files are checked against: this isobench's drivers
// and workloads. Making a driver value does not touch the host.
func (a *app) known() (plan.Known, error) {
	denv, err := a.driverEnv()
	if err != nil {
		return plan.Known{}, err
	}
	reg := builtin.Drivers()
	return plan.Known{
		Workloads: builtin.Workloads(),
		Runtime: func(ref string) error {
			_, err := reg.New(denv, ref)
			return err
		},
	}, nil
}

// suiteCheck checks each suite file and prints the summary of each good
// one; a file with problems makes it a usage error, after every file.
func (a *app) suiteCheck(ctx context.Context, files []string, grants workload.Grants, w io.Writer) error {
	known, err := a.known()
	if err != nil {
		return err
	}
	known.Grants = grants
	var errs []string
	for _, file := range files {
		out, err := plan.CheckFile(file, known, builtin.Drivers().Names())
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		fmt.Fprint(w, out)
	}
	if len(errs) > 0 {
		return withStatus(ExitUsage, fmt.Errorf("%d of %d suite files have problems:\n%s", len(errs), len(files), strings.Join(errs, "\n")))
	}
	return nil
}

// suiteFromFile reads the suite of run -f, against the run's workloads,
// and lays the flags the user gave over it (plan.Suite.Override):
// --runtimes, --profile (which the file is then read under), --trials,
// --warmups, --seed, --order, --baseline, --scratch and --timeout win over
// the file; --workloads and --set cannot be mixed with a file.
func (a *app) suiteFromFile(f runFlags, wreg *workload.Registry) (plan.Suite, error) {
	known, err := a.known()
	if err != nil {
		return plan.Suite{}, err
	}
	known.Workloads = wreg
	changed := f.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	for _, name := range []string{"workloads", "set"} {
		if changed(name) {
			return plan.Suite{}, fmt.Errorf("--%s cannot be given with -f: the suite file says which workloads run, with which parameters", name)
		}
	}
	if changed("profile") {
		known.Profile = f.profile
	}
	known.Grants = f.grants()
	if err := inputfile.CheckIfExists(f.file); err != nil {
		return plan.Suite{}, fmt.Errorf("--file %w", err)
	}
	s, err := plan.LoadSuiteFile(f.file, known)
	if err != nil {
		return plan.Suite{}, err
	}
	return s.Override(plan.Overrides{
		Given: changed, Runtimes: f.runtimes, Trials: f.trials, Warmups: f.warmups, Seed: f.seed,
		Order: f.order, Baseline: f.baseline, Scratch: f.scratch, Timeout: f.timeout,
	}, known)
}

// watchInterrupt tells the user, as it happens, what an interrupt does:
// the first stops the run after the current trial is cleaned up; a second
// (env.Hurry) frees the sandbox at once. It returns a function that ends
// the watch.
func (a *app) watchInterrupt(ctx context.Context, w io.Writer) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		fmt.Fprintln(w, "isobench: interrupted: stopping the trial in flight and removing its sandbox; interrupt again to stop faster")
		if a.env.Hurry == nil {
			return
		}
		select {
		case <-a.env.Hurry:
		case <-done:
			return
		}
		fmt.Fprintln(w, "isobench: interrupted again: freeing the sandbox without a graceful stop; a third interrupt kills isobench at once (then run isobench gc)")
	}()
	return func() {
		close(done)
		<-finished
	}
}

// Flag texts of the grants (see workload.Grants), on run and suite check.
const (
	allowExecDoc    = "let a fio job file (fio.profile) run commands of its own: exec_prerun, exec_postrun, ioengine=exec, engines loaded from files; they run on this host as root for the host baseline"
	storeProfileDoc = "store a fio job file's text with the run and in its reports (default: only its name and sha256 digest)"
)

// grants are the grants of run's flags.
func (f runFlags) grants() workload.Grants {
	return workload.Grants{AllowExec: f.allowExec, StoreProfile: f.storeProfile}
}
