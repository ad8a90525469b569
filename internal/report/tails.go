package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
)

// TailRow is the tail of one metric's single values of one runtime,
// pooled over the OK measured trials of a group (see workload.PooledRaw):
// the startup workload keeps every sandbox start, of which each trial's
// sample is the median. The statistics of the tables (intervals, ratios,
// tests) count trials; a tail row only describes the pool.
type TailRow struct {
	Metric  workload.Metric   `json:"metric"`
	Runtime string            `json:"runtime"`
	Trials  int               `json:"trials"`
	Tail    stats.TailSummary `json:"tail"`
}

// tailRows pools the single values kept by the OK measured trials of a
// group, by metric (in the order of metrics) and runtime (in rts order).
// Trials whose pooled values do not parse are left out.
func tailRows(metrics []MetricRow, rts []string, byRuntime map[string][]*result.Trial) []TailRow {
	var out []TailRow
	pools := map[string]map[string][]float64{} // runtime -> metric -> values
	trials := map[string]map[string]int{}
	for _, rt := range rts {
		for _, t := range byRuntime[rt] {
			if t.Status != result.StatusOK || t.Warmup {
				continue
			}
			text, ok := t.Raw[workload.PooledRaw]
			if !ok {
				continue
			}
			p, err := workload.ParsePooled(text)
			if err != nil {
				continue
			}
			if pools[rt] == nil {
				pools[rt], trials[rt] = map[string][]float64{}, map[string]int{}
			}
			for m, vs := range p {
				pools[rt][m] = append(pools[rt][m], vs...)
				trials[rt][m]++
			}
		}
	}
	for _, m := range metrics {
		for _, rt := range rts {
			vs := pools[rt][m.Metric.Name]
			if len(vs) == 0 {
				continue
			}
			out = append(out, TailRow{Metric: m.Metric, Runtime: rt, Trials: trials[rt][m.Metric.Name], Tail: stats.Tail(vs)})
		}
	}
	return out
}

// tailNote says how the tail rows were made, for tables.
func tailNote() string {
	return fmt.Sprintf("every single value pooled over the trials; p95 from %d values, p99 from %d", stats.MinValuesP95, stats.MinValuesP99)
}

// tailText renders a tail percentile, or says how many values it needs.
func tailText(has bool, v float64, unit string, need int) string {
	if !has {
		return fmt.Sprintf("(n<%d)", need)
	}
	return FormatValue(v, unit)
}

// writeTails writes a group's tail rows as a terminal table.
func writeTails(w io.Writer, g Group) error {
	if len(g.Tails) == 0 {
		return nil
	}
	fmt.Fprintf(w, "  tails (%s):\n", tailNote())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  METRIC\tRUNTIME\tN (TRIALS)\tMEDIAN\tP95\tP99\tMAX")
	for _, r := range g.Tails {
		u := r.Metric.Unit
		fmt.Fprintln(tw, strings.Join([]string{"  " + r.Metric.Label, r.Runtime, fmt.Sprintf("%d (%d)", r.Tail.N, r.Trials),
			FormatValue(r.Tail.Median, u), tailText(r.Tail.HasP95, r.Tail.P95, u, stats.MinValuesP95),
			tailText(r.Tail.HasP99, r.Tail.P99, u, stats.MinValuesP99), FormatValue(r.Tail.Max, u)}, "\t"))
	}
	return tw.Flush()
}
