package report

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"golang.org/x/perf/benchfmt"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
)

// Bench writes the measured trials in the Go benchmark format, so that
// benchstat reads them unchanged: one result line per OK measured trial
// (iteration count 1) named after the workload, with the configuration keys
// "runtime", "workload" and one per parameter, and one value per metric in
// a unit named after it (see BenchUnit). Unit metadata lines say which way
// each unit is better. Warm-ups are left out; failed trials appear as
// comment lines, which benchstat ignores.
//
// "benchstat -col runtime FILE" then compares the runtimes of a run, and
// "benchstat OLD NEW" two runs.
func (r *Report) Bench(w io.Writer) error {
	ew := &errWriter{w: w}
	run := r.Run
	fmt.Fprintf(ew, "# isobench run %s, started %s, profile %s, seed %d, %s order\n", run.ID, mdTime(run.Started), run.Profile, run.Seed, run.Order)
	fmt.Fprintf(ew, "# compare runtimes: benchstat -col runtime FILE\n\n")
	bw := benchfmt.NewWriter(ew)
	metrics := map[string]workload.Metric{}
	for _, g := range r.Analysis.Groups {
		for _, m := range g.Metrics {
			metrics[g.Workload+"\x00"+m.Metric.Name] = m.Metric
		}
	}
	// Unit metadata first, once per unit.
	seen := map[string]bool{}
	for _, g := range r.Analysis.Groups {
		for _, m := range g.Metrics {
			u := BenchUnit(m.Metric.Name, m.Metric.Unit)
			if seen[u] {
				continue
			}
			seen[u] = true
			better := "lower"
			if m.Metric.HigherIsBetter {
				better = "higher"
			}
			for _, kv := range [][2]string{{"better", better}, {"assume", "nothing"}} {
				if err := bw.Write(&benchfmt.UnitMetadata{UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: u, Key: kv[0]}, OrigUnit: u, Value: kv[1]}); err != nil {
					return fmt.Errorf("writing bench report: %w", err)
				}
			}
		}
	}
	for _, t := range run.Trials {
		if t.Warmup {
			continue
		}
		if t.Status != result.StatusOK {
			fmt.Fprintf(ew, "# trial %d %s %s %d %s: %s\n", t.Seq, t.Cell.Runtime, t.Cell.Workload, t.Index, t.Status, oneLine(t.Error))
			continue
		}
		res := &benchfmt.Result{Name: benchfmt.Name(BenchName(t.Cell.Workload)), Iters: 1}
		res.Config = append(res.Config,
			benchfmt.Config{Key: "runtime", Value: []byte(configValue(t.Cell.Runtime)), File: true},
			benchfmt.Config{Key: "workload", Value: []byte(configValue(t.Cell.Workload)), File: true})
		for _, k := range sortedKeys(t.Cell.Params) {
			key := configKey(k)
			if key == "runtime" || key == "workload" {
				key = "param-" + key
			}
			res.Config = append(res.Config, benchfmt.Config{Key: key, Value: []byte(configValue(t.Cell.Params[k])), File: true})
		}
		for _, s := range t.Samples {
			unit := s.Unit
			if m, ok := metrics[t.Cell.Workload+"\x00"+s.Metric]; ok {
				unit = m.Unit
			}
			res.Values = append(res.Values, benchfmt.Value{Value: s.Value, Unit: BenchUnit(s.Metric, unit)})
		}
		if len(res.Values) == 0 {
			continue
		}
		if err := bw.Write(res); err != nil {
			return fmt.Errorf("writing bench report: %w", err)
		}
	}
	return ew.err
}

// BenchName is the benchmark name of a workload: its name with a capital
// first letter, letters, digits and '-' only ("cpu" gives "Cpu").
func BenchName(workload string) string {
	var b strings.Builder
	for i, c := range workload {
		switch {
		case i == 0:
			b.WriteRune(unicode.ToUpper(c))
		case unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "Workload"
	}
	return b.String()
}

// BenchUnit names a metric's unit in the benchmark format: the metric's
// name with '-' for '_', then its base unit, so that benchstat scales it
// right (decimal prefixes for seconds, binary ones for bytes):
// "latency_avg" in seconds gives "latency-avg-sec", "read" in B/s
// "read-B/s", "events_per_sec" in ops/s "events/s", a count just its name.
func BenchUnit(metric, unit string) string {
	name := strings.Map(func(c rune) rune {
		switch {
		case c == '_' || unicode.IsSpace(c) || c == '*':
			return '-'
		case c == '/':
			return '-'
		}
		return c
	}, metric)
	switch unit {
	case workload.UnitSeconds:
		return name + "-sec"
	case workload.UnitBytesPerSec:
		return name + "-B/s"
	case workload.UnitBytes:
		return name + "-B"
	case workload.UnitOpsPerSec:
		if base, ok := strings.CutSuffix(name, "-per-sec"); ok {
			return base + "/s"
		}
		return name + "-ops/s"
	case workload.UnitCount, "":
		return name
	}
	return name + "-" + strings.ReplaceAll(unit, " ", "-")
}

// configKey makes a parameter name a valid configuration key: lower case,
// no spaces or colons, starting with a letter.
func configKey(k string) string {
	k = strings.Map(func(c rune) rune {
		switch {
		case unicode.IsSpace(c) || c == ':':
			return '-'
		}
		return unicode.ToLower(c)
	}, k)
	if k == "" || !unicode.IsLower([]rune(k)[0]) {
		k = "p" + k
	}
	return k
}

// configValue keeps a value on one line.
func configValue(v string) string {
	v = strings.NewReplacer("\n", " ", "\r", " ").Replace(v)
	if v == "" {
		return "-"
	}
	return v
}
