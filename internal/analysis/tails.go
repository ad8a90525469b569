package analysis

import (
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
