package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/report"
	"github.com/isobench/isobench/internal/result"
)

type compareFlags struct {
	runtimes  []string
	metrics   []string
	failAbove string
	format    string
}

func (a *app) compareCommand() *cobra.Command {
	var f compareFlags
	cmd := &cobra.Command{
		Use:   "compare OLD NEW | compare RUN --runtimes OLD,NEW",
		Short: "Compare two runs, or two runtimes of one run, metric by metric",
		Long: `Compare two stored runs (identifiers, unique prefixes or "latest"), runtime by
runtime, or two runtimes within one run, as benchstat does: each metric's
median with its 95% confidence interval on both sides, the change of the
median where the Mann–Whitney U test finds it significant (after Holm's
correction over the runtimes compared on each metric), "~" where it does not.

With --fail-above, isobench exits with status 3 when any metric is
significantly worse by more than the bound (in its own direction: slower,
or fewer per second), so that CI can gate on it.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.compare(cmd.Context(), cmd.OutOrStdout(), args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.runtimes, "runtimes", nil, "with one run: the two runtimes to compare (old,new); with two runs: only these runtimes")
	fl.StringSliceVar(&f.metrics, "metrics", nil, "only these metrics, by name (e.g. latency_avg,events_per_sec)")
	fl.StringVar(&f.failAbove, "fail-above", "", "exit with status 3 when a metric regresses significantly by more than this, e.g. 5%")
	fl.StringVar(&f.format, "format", "text", "output format: text, markdown or json")
	return cmd
}

// parseBound reads "5%" or "0.05" as a fraction above 0.
func parseBound(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a percentage like 5%%", s)
	}
	if pct {
		v /= 100
	}
	if !(v > 0) || v > 100 {
		return 0, fmt.Errorf("%q is not a positive percentage", s)
	}
	return v, nil
}

func (a *app) compare(ctx context.Context, w io.Writer, args []string, f compareFlags) error {
	opt := report.CompareOptions{Metrics: f.metrics}
	if f.failAbove != "" {
		b, err := parseBound(f.failAbove)
		if err != nil {
			return withStatus(ExitUsage, fmt.Errorf("--fail-above: %w", err))
		}
		opt.FailAbove = b
	}
	switch f.format {
	case "text", "markdown", "md", "json":
	default:
		return withStatus(ExitUsage, fmt.Errorf("--format %q: want text, markdown or json", f.format))
	}
	reg := builtin.Workloads()
	var c *report.Comparison
	if len(args) == 1 {
		if len(f.runtimes) != 2 {
			return withStatus(ExitUsage, fmt.Errorf("compare with one run needs --runtimes OLD,NEW naming two of its runtimes"))
		}
		run, err := a.loadRun(ctx, args[0])
		if err != nil {
			return err
		}
		for _, rt := range f.runtimes {
			if !runHas(run.Trials, rt) {
				return withStatus(ExitUsage, fmt.Errorf("run %s has no trials of runtime %q", run.ID, rt))
			}
		}
		c = report.CompareRuntimes(run, f.runtimes[0], f.runtimes[1], reg, opt)
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
		c = report.CompareRuns(old, cur, reg, opt)
	}
	var err error
	switch f.format {
	case "json":
		err = c.JSON(w)
	case "markdown", "md":
		err = c.Markdown(w)
	default:
		err = c.Text(w)
	}
	if err != nil {
		return err
	}
	if regs := c.Regressions(); len(regs) > 0 {
		return withStatus(ExitRegression, fmt.Errorf("%d metric(s) regressed by more than %s", len(regs), f.failAbove))
	}
	return nil
}

func runHas(trials []result.Trial, rt string) bool {
	for _, t := range trials {
		if t.Cell.Runtime == rt {
			return true
		}
	}
	return false
}
