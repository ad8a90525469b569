package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/store"
	"github.com/isobench/isobench/internal/workload"
)

// RunView is what the run list and a run's page need beyond the stored
// runs: whether a run's owner process is gone (a run marked running whose
// process is gone was killed mid-run) and how a trial is named in a line.
type RunView struct {
	OwnerGone func(owner string) bool
	TrialKind func(warmup bool, index int) string
}

// Status is a run's status as a user reads it: a run marked running whose
// isobench process is gone was killed mid-run.
func (v RunView) Status(status result.RunStatus, owner string) string {
	if status == result.RunRunning && v.OwnerGone(owner) {
		return "killed"
	}
	return string(status)
}

// WriteRunList writes the runs of a database (at path) as a table, oldest
// first, or a line saying it holds none.
func (v RunView) WriteRunList(w io.Writer, path string, infos []store.RunInfo) error {
	if len(infos) == 0 {
		_, err := fmt.Fprintf(w, "no runs in %s\n", path)
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
			v.Status(r.Status, r.Owner), r.Profile, strings.Join(r.Runtimes, ","), strings.Join(r.Workloads, ","), trials)
	}
	return tw.Flush()
}

// WriteRun writes a stored run as `isobench runs show` prints it: its
// status, times and command, a note when it is marked running, its text
// report and, with trials, every trial.
func (v RunView) WriteRun(w io.Writer, run *result.Run, workloads *workload.Registry, trials bool) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "run %s: %s\n", run.ID, v.Status(run.Status, run.Env[result.EnvOwner]))
	fmt.Fprintf(ew, "started %s", run.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
	if !run.Ended.IsZero() {
		fmt.Fprintf(ew, ", ended %s (took %s)", run.Ended.UTC().Format("2006-01-02 15:04:05 UTC"), run.Ended.Sub(run.Started).Round(time.Second))
	}
	fmt.Fprintf(ew, "\ncommand: %s\n", strings.Join(run.Command, " "))
	switch {
	case run.Status != result.RunRunning:
	case v.OwnerGone(run.Env[result.EnvOwner]):
		fmt.Fprintf(ew, "note: the isobench process of the run (%s) is gone: it was killed mid-run (isobench run --resume %s runs what it lacks)\n", run.Env[result.EnvOwner], run.ID)
	default:
		fmt.Fprintf(ew, "note: the run is marked running: it is going on, or its process was killed (isobench run --resume %s runs what it lacks)\n", run.ID)
	}
	if err := ew.err; err != nil {
		return err
	}
	if err := Build(run, workloads).Text(w); err != nil {
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
			samples = append(samples, s.Metric+"="+FormatValue(s.Value, s.Unit))
		}
		status := string(t.Status)
		if t.Error != "" {
			status += ": " + firstErrorLine(t.Error)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s %s\t%s\t%s\t%.1f\t%s\n", t.Seq, t.Cell.Runtime, t.Cell.Workload, ParamsText(t.Cell.Params),
			v.TrialKind(t.Warmup, t.Index), status, t.End.Sub(t.Start).Seconds(), strings.Join(samples, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return ew.err
}

// firstErrorLine is an error's first line, cut at 200 bytes.
func firstErrorLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	return line
}
