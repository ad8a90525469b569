package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

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
	return runView().WriteRunList(w, db.Path(), infos)
}

// runView is how the runs commands show a stored run: the runner says
// whether its process is gone, progress how a trial is named.
func runView() report.RunView {
	return report.RunView{OwnerGone: runner.OwnerGone, TrialKind: progress.TrialKind}
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
	return runView().WriteRun(w, run, builtin.Workloads(), trials)
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
