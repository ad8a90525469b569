package sysbench

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/workload"
)

// LatencyStep is the resolution of sysbench's latency figures: it prints
// milliseconds with two decimals, so min, max and the percentile move in
// steps of 10 µs, and a printed 0.00 means under 5 µs. The average is
// derived from the sum and has no such limit.
const LatencyStep = 10e-6

// ResolutionAttr is the attribute that gives the resolution of a metric:
// the step in which the tool prints it, in the metric's unit. A value below
// half the step was printed as zero and is only known to be below it.
func ResolutionAttr(metric string) string { return "resolution." + metric }

// sampleAttrRecorder is what the report readers write to.
type sampleAttrRecorder interface {
	Sample(metric string, v float64)
	Attr(key, value string)
}

// buffered holds samples and attributes until a whole report has been read,
// so that a truncated report records nothing rather than part of a result.
type buffered struct {
	names  []string
	values []float64
	attrs  [][2]string
}

func (b *buffered) Sample(metric string, v float64) {
	b.names = append(b.names, metric)
	b.values = append(b.values, v)
}

func (b *buffered) Attr(k, v string) { b.attrs = append(b.attrs, [2]string{k, v}) }

func (b *buffered) flush(rec workload.Recorder) {
	for _, kv := range b.attrs {
		rec.Attr(kv[0], kv[1])
	}
	for i, n := range b.names {
		rec.Sample(n, b.values[i])
	}
}

// parseSize reads a size as sysbench's SIZE options take it: a whole number
// of bytes with an optional binary suffix K, M, G or T (KiB... also
// accepted), e.g. "1K", "100G", "16384".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	upper := strings.ToUpper(t)
	upper = strings.TrimSuffix(upper, "IB")
	upper = strings.TrimSuffix(upper, "B")
	mult := int64(1)
	if n := len(upper); n > 0 {
		switch upper[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			upper = upper[:n-1]
		}
	}
	v, err := strconv.ParseInt(upper, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (a whole number with an optional K, M, G or T)", s)
	}
	if v > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return v * mult, nil
}

// Bounds of sysbench's sizes: a block is allocated (per thread, with
// memory's local scope), the files of fileio are written to the scratch
// filesystem, memory's total is only transferred.
const (
	maxBlockSize   = 1 << 30 // 1G
	maxFileTotal   = 4 << 40 // 4T
	maxMemoryTotal = 1 << 50 // 1024T
	// maxFileNum bounds fileio's files, all open at once; maxFsyncFreq its
	// requests between fsyncs.
	maxFileNum   = 100_000
	maxFsyncFreq = 1_000_000_000
)

// checkSizes checks that each named parameter is a size within its range
// of bytes.
func checkSizes(p map[string]string, ranges map[string]intRange) error {
	names := make([]string, 0, len(ranges))
	for name := range ranges {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r := ranges[name]
		v, err := parseSize(p[name])
		if err != nil {
			return fmt.Errorf("parameter %s: %w", name, err)
		}
		if v < r.lo {
			return fmt.Errorf("parameter %s: %s is below the minimum of %d bytes", name, p[name], r.lo)
		}
		if v > r.hi {
			return fmt.Errorf("parameter %s: %s is more than %s", name, p[name], sizeText(r.hi))
		}
	}
	return nil
}

// sizeText writes a size of bytes with the largest binary suffix that
// divides it, as parseSize reads it.
func sizeText(v int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if v >= u.mult && v%u.mult == 0 {
			return strconv.FormatInt(v/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(v, 10)
}

// checkChoice checks that a parameter is one of the given values.
func checkChoice(p map[string]string, name string, choices ...string) error {
	for _, c := range choices {
		if p[name] == c {
			return nil
		}
	}
	return fmt.Errorf("parameter %s: %q is not one of %s", name, p[name], strings.Join(choices, ", "))
}

// run runs one sysbench command in the sandbox and keeps its output under
// raw. A command that did not succeed is an error that carries sysbench's
// own FATAL lines (which it writes on stdout).
func run(ctx context.Context, t *workload.Target, rec workload.Recorder, raw string, req agent.Request) (string, error) {
	res, err := t.Run(ctx, req)
	if err != nil {
		return "", err
	}
	rec.Raw(raw, res.Stdout)
	if res.Stderr != "" {
		rec.Raw(raw+".stderr", res.Stderr)
	}
	if err := res.Err(); err != nil {
		if f := fatalLines(res.Stdout); f != "" {
			return res.Stdout, fmt.Errorf("%w; sysbench said: %s", err, f)
		}
		return res.Stdout, err
	}
	return res.Stdout, nil
}

// fatalLines returns sysbench's error lines of an output, joined.
func fatalLines(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "FATAL:") || strings.HasPrefix(l, "ALERT:") || strings.HasPrefix(l, "WARNING:") {
			lines = append(lines, clip(l, 300))
			if len(lines) == maxFatal {
				break
			}
		}
	}
	return strings.Join(lines, " | ")
}

// recordResolution records the resolution of sysbench's printed latencies.
func recordResolution(rec sampleAttrRecorder) {
	step := strconv.FormatFloat(LatencyStep, 'g', -1, 64)
	for _, m := range []string{"latency_min", "latency_max", "latency_p95"} {
		rec.Attr(ResolutionAttr(m), step)
	}
}
