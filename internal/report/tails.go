package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/stats"
)

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
func writeTails(w io.Writer, g analysis.Group) error {
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
