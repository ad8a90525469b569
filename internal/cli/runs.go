package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/outputfile"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/progress"
	"github.com/isobench/isobench/internal/report"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/runner"
	"github.com/isobench/isobench/internal/store"
)

func (a *app) runsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List, show and remove stored runs",
		Long: `List the runs kept in the results database, oldest first. A run is named by
its identifier, any unique prefix of it, or "latest".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.listRuns(cmd.Context(), cmd.OutOrStdout(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")

	var showTrials bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a stored run: its figures, environment, method and failures",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.showRun(cmd.Context(), cmd.OutOrStdout(), args[0], showTrials)
		},
	}
	show.Flags().BoolVar(&showTrials, "trials", false, "also list every trial")

	var force bool
	rm := &cobra.Command{
		Use:   "rm ID...",
		Short: "Remove stored runs with all their trials",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.removeRuns(cmd.Context(), cmd.OutOrStdout(), args, force)
		},
	}
	rm.Flags().BoolVar(&force, "force", false, "also remove a run still marked running (it may be going on in another isobench)")
	cmd.AddCommand(show, rm)
	return cmd
}

func (a *app) listRuns(ctx context.Context, w io.Writer, asJSON bool) error {
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	infos, err := db.ListRuns(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if infos == nil {
			infos = []store.RunInfo{}
		}
		return enc.Encode(infos)
	}
	if len(infos) == 0 {
		_, err := fmt.Fprintf(w, "no runs in %s\n", db.Path())
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED (UTC)\tTOOK\tSTATUS\tPROFILE\tRUNTIMES\tWORKLOADS\tTRIALS")
	for _, r := range infos {
		took := "-"
		if !r.Ended.IsZero() {
			took = r.Ended.Sub(r.Started).Round(time.Second).String()
		}
		trials := fmt.Sprint(r.Trials)
		if r.Failed > 0 {
			trials += fmt.Sprintf(" (%d failed)", r.Failed)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Started.UTC().Format("2006-01-02 15:04:05"), took,
			shownStatus(r.Status, r.Owner), r.Profile, strings.Join(r.Runtimes, ","), strings.Join(r.Workloads, ","), trials)
	}
	return tw.Flush()
}

// loadRun opens the database and reads the run an identifier, prefix or
// "latest" names.
func (a *app) loadRun(ctx context.Context, ref string) (*result.Run, error) {
	db, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	id, err := db.ResolveID(ctx, ref)
	if err != nil {
		return nil, withStatus(ExitUsage, err)
	}
	return db.GetRun(ctx, id)
}

func (a *app) showRun(ctx context.Context, w io.Writer, ref string, trials bool) error {
	run, err := a.loadRun(ctx, ref)
	if err != nil {
		return err
	}
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "run %s: %s\n", run.ID, shownStatus(run.Status, run.Env[result.EnvOwner]))
	fmt.Fprintf(ew, "started %s", run.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
	if !run.Ended.IsZero() {
		fmt.Fprintf(ew, ", ended %s (took %s)", run.Ended.UTC().Format("2006-01-02 15:04:05 UTC"), run.Ended.Sub(run.Started).Round(time.Second))
	}
	fmt.Fprintf(ew, "\ncommand: %s\n", strings.Join(run.Command, " "))
	switch {
	case run.Status != result.RunRunning:
	case runner.OwnerGone(run.Env[result.EnvOwner]):
		fmt.Fprintf(ew, "note: the isobench process of the run (%s) is gone: it was killed mid-run (isobench run --resume %s runs what it lacks)\n", run.Env[result.EnvOwner], run.ID)
	default:
		fmt.Fprintf(ew, "note: the run is marked running: it is going on, or its process was killed (isobench run --resume %s runs what it lacks)\n", run.ID)
	}
	if err := ew.err; err != nil {
		return err
	}
	if err := report.Build(run, builtin.Workloads()).Text(w); err != nil {
		return err
	}
	if !trials {
		return nil
	}
	fmt.Fprintln(ew, "\ntrials:")
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SEQ\tRUNTIME\tWORKLOAD\tTRIAL\tSTATUS\tSECONDS\tSAMPLES")
	for _, t := range run.Trials {
		var samples []string
		for _, s := range t.Samples {
			samples = append(samples, s.Metric+"="+report.FormatValue(s.Value, s.Unit))
		}
		status := string(t.Status)
		if t.Error != "" {
			status += ": " + firstLine(t.Error)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s %s\t%s\t%s\t%.1f\t%s\n", t.Seq, t.Cell.Runtime, t.Cell.Workload, report.ParamsText(t.Cell.Params),
			progress.TrialKind(t.Warmup, t.Index), status, t.End.Sub(t.Start).Seconds(), strings.Join(samples, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return ew.err
}

func (a *app) removeRuns(ctx context.Context, w io.Writer, refs []string, force bool) error {
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var ids []string
	for _, ref := range refs {
		id, err := db.ResolveID(ctx, ref)
		if err != nil {
			return withStatus(ExitUsage, err)
		}
		run, err := db.GetRun(ctx, id)
		if err != nil {
			return err
		}
		if run.Status == result.RunRunning && !runner.OwnerGone(run.Env[result.EnvOwner]) && !force {
			return withStatus(ExitUsage, fmt.Errorf("run %s is marked running: it may be going on in another isobench (or its process was killed); remove it with --force", id))
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if err := db.DeleteRun(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(w, "removed run %s\n", id)
	}
	return nil
}

// resumeConflicts are the run flags that say what to run; a resumed run
// runs what it planned, so none of them may be given with --resume.
func resumeConflicts() []string {
	return []string{"file", "runtimes", "workloads", "set", "profile", "trials", "warmups", "seed", "order",
		"baseline", "scratch", "timeout", "target-ci", "max-trials"}
}

// loadResume reads the stored run to resume and its plan.
func (a *app) loadResume(ctx context.Context, f runFlags) (*plan.Resume, error) {
	if f.changed != nil {
		for _, name := range resumeConflicts() {
			if f.changed(name) {
				return nil, withStatus(ExitUsage, fmt.Errorf("--%s cannot be given with --resume: a resumed run runs what it planned", name))
			}
		}
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	id, err := db.ResolveID(ctx, f.resume)
	if err != nil {
		return nil, withStatus(ExitUsage, fmt.Errorf("--resume: %w", err))
	}
	return runner.LoadResume(ctx, db, id)
}

// writeReport writes a run's report to a file, in the format its extension
// names (HTML for any other), through outputfile.Write: a failed write leaves no
// half report, and a symbolic link at path is replaced, not written through.
func writeReport(path string, run *result.Run, f report.Format) error {
	return outputfile.Write(path, func(w io.Writer) error {
		return report.Build(run, builtin.Workloads()).Write(w, f)
	})
}

// errWriter keeps the first write error and drops later writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// shownStatus is a run's status as a user reads it: a run marked running
// whose isobench process is gone was killed mid-run.
func shownStatus(status result.RunStatus, owner string) string {
	if status == result.RunRunning && runner.OwnerGone(owner) {
		return "killed"
	}
	return string(status)
}
