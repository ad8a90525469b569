package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/report"
)

type compareFlags struct {
	runtimes  []string
	metrics   []string
	failAbove string
	format    string
	// strict: a regression needs the whole ratio interval beyond the
	// bound; allowMissing and allowInconclusive let the gate pass over
	// cells it cannot judge.
	strict            bool
	allowMissing      bool
	allowInconclusive bool
}

func (a *app) compareCommand() *cobra.Command {
	var f compareFlags
	cmd := &cobra.Command{
		Use:   "compare OLD NEW | compare RUN --runtimes OLD,NEW",
		Short: "Compare two runs, or two runtimes of one run, metric by metric",
		Long: `Compare two stored runs (identifiers, unique prefixes or "latest"), runtime by
runtime, or two runtimes within one run, as benchstat does: each metric's
median with its 95% confidence interval on both sides, the change of the
median where the difference is significant, "~" where it is not, and on
every row the ratio of the medians with its 95% bootstrap interval.

A difference is significant when the Mann–Whitney U test rejects (exact,
conditional on ties, up to 25 trials a side; with Holm's correction over
the runtimes compared on each metric; α = 0.05) and the ratio interval
excludes 1. A row where the test rejects but the interval holds 1 is not
significant and is marked ‡.

The gate, for CI: with --fail-above 5%, a regression is a significant
change whose medians differ by more than the bound in the metric's worse
direction (slower, or fewer per second); with --strict, the whole ratio
interval must lie beyond the bound too. Exit status 3 when any metric
regressed. With --fail-above, exit status 4 when a cell cannot be judged, so that the gate
never passes what it did not measure: a runtime, workload or metric in one
run only (--allow-missing lets it pass), or a cell with no successful trial
or too few trials for the test to find any difference (--allow-inconclusive).
Every such cell is listed with its reason in every format. Regressions win
over unjudged cells: 3 before 4.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.compare(cmd.Context(), cmd.OutOrStdout(), args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.runtimes, "runtimes", nil, "with one run: the two runtimes to compare (old,new); with two runs: only these runtimes")
	fl.StringSliceVar(&f.metrics, "metrics", nil, "only these metrics, by name (e.g. latency_avg,events_per_sec)")
	fl.StringVar(&f.failAbove, "fail-above", "", "exit with status 3 when a metric regresses significantly by more than this percentage, e.g. 5%")
	fl.BoolVar(&f.strict, "strict", false, "with --fail-above: a regression needs the whole ratio interval beyond the bound, not only the medians")
	fl.BoolVar(&f.allowMissing, "allow-missing", false, "do not fail on cells in one run only (a runtime, workload or metric gone or new)")
	fl.BoolVar(&f.allowInconclusive, "allow-inconclusive", false, "do not fail on cells without successful trials or with too few trials to judge")
	fl.StringVar(&f.format, "format", "text", "output format: text, markdown or json")
	return cmd
}

func (a *app) compare(ctx context.Context, w io.Writer, args []string, f compareFlags) error {
	opt := analysis.CompareOptions{Metrics: f.metrics, Strict: f.strict}
	if f.strict && f.failAbove == "" {
		return withStatus(ExitUsage, fmt.Errorf("--strict needs --fail-above"))
	}
	if f.failAbove != "" {
		b, err := analysis.ParseBound(f.failAbove)
		if err != nil {
			return withStatus(ExitUsage, fmt.Errorf("--fail-above: %w", err))
		}
		opt.FailAbove = b
	}
	format, err := report.ParseFormat(f.format)
	if err != nil || format != report.FormatText && format != report.FormatMarkdown && format != report.FormatJSON {
		return withStatus(ExitUsage, fmt.Errorf("--format %q: want text, markdown or json", f.format))
	}
	reg := builtin.Workloads()
	var c *analysis.Comparison
	if len(args) == 1 {
		if len(f.runtimes) != 2 {
			return withStatus(ExitUsage, fmt.Errorf("compare with one run needs --runtimes OLD,NEW naming two of its runtimes"))
		}
		run, err := a.loadRun(ctx, args[0])
		if err != nil {
			return err
		}
		for _, rt := range f.runtimes {
			if !analysis.HasRuntime(run, rt) {
				return withStatus(ExitUsage, fmt.Errorf("run %s has no trials of runtime %q", run.ID, rt))
			}
		}
		c = analysis.CompareRuntimes(run, f.runtimes[0], f.runtimes[1], reg, opt)
	} else {
		old, err := a.loadRun(ctx, args[0])
		if err != nil {
			return err
		}
		cur, err := a.loadRun(ctx, args[1])
		if err != nil {
			return err
		}
		opt.Runtimes = f.runtimes
		c = analysis.CompareRuns(old, cur, reg, opt)
	}
	if err := report.WriteComparison(w, c, format); err != nil {
		return err
	}
	if regs := c.Regressions(); len(regs) > 0 {
		return withStatus(ExitRegression, fmt.Errorf("%d metric(s) regressed by more than %s", len(regs), f.failAbove))
	}
	if blocking := c.Blocking(f.allowMissing, f.allowInconclusive); opt.FailAbove > 0 && len(blocking) > 0 {
		return withStatus(ExitUnjudged, fmt.Errorf("%d cell(s) could not be judged: %s (--allow-missing, --allow-inconclusive to pass over them)", len(blocking), analysis.UnjudgedText(blocking)))
	}
	return nil
}
