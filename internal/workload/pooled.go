package workload

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// PooledRaw names the raw output in which a workload that measures several
// things of one kind in a trial (startup: several sandboxes, one after
// another) keeps every single value. The trial's samples stay one value
// per metric (the median of its values), so that intervals and tests
// count trials, the unit that is repeated independently; reports pool the
// single values of all trials of a cell only to show the distribution's
// tail (p95, p99), which a handful of per-trial medians cannot show.
const PooledRaw = "pooled.json"

// maxPooled bounds the values of one metric in one trial.
const maxPooled = 100_000

// Pooled holds a trial's single values by metric, in the metric's unit.
type Pooled map[string][]float64

// Add appends a value of a metric.
func (p Pooled) Add(metric string, v float64) { p[metric] = append(p[metric], v) }

// Encode renders the values as the JSON text kept under PooledRaw, metrics
// in name order.
func (p Pooled) Encode() string {
	b, err := json.Marshal(map[string][]float64(p))
	if err != nil {
		// Only NaN or ±Inf can fail; they are never added.
		return "{}"
	}
	return string(b)
}

// ParsePooled reads what Encode wrote. A value that is not a finite
// number, an empty metric name or more than 100000 values of one metric
// is an error naming the metric.
func ParsePooled(text string) (Pooled, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	var raw map[string][]float64
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("pooled values: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("pooled values: text after the JSON object")
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	out := Pooled{}
	for _, k := range names {
		vs := raw[k]
		if k == "" {
			return nil, fmt.Errorf("pooled values: a metric with an empty name")
		}
		if len(vs) > maxPooled {
			return nil, fmt.Errorf("pooled values: metric %q has %d values, more than %d", k, len(vs), maxPooled)
		}
		for i, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("pooled values: metric %q value %d is not finite", k, i)
			}
		}
		out[k] = vs
	}
	return out, nil
}
