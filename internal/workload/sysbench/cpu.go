package sysbench

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

// CPU is sysbench's cpu test: primes found by trial division, the study's
// CPU benchmark (primes up to 20000; figure of average and minimum latency).
type CPU struct{}

var _ workload.Workload = CPU{}

// Name implements workload.Workload.
func (CPU) Name() string { return "cpu" }

// Doc implements workload.Workload.
func (CPU) Doc() string {
	return "sysbench cpu: prime search by trial division; events/s and per-event latency"
}

// Params implements workload.Workload.
func (CPU) Params() []workload.Param {
	return []workload.Param{
		{Name: "max-prime", Default: "20000", Doc: "primes are searched up to this number (the study: 20000)"},
		{Name: "threads", Default: "1", Doc: "worker threads"},
		{Name: "time", Default: "10", Doc: "seconds to run (0: until events are done)", Profiles: map[string]string{"quick": "2"}},
		{Name: "events", Default: "0", Doc: "stop after this many events (0: no limit)"},
	}
}

// Metrics implements workload.Workload.
func (CPU) Metrics() []workload.Metric {
	return append([]workload.Metric{
		{Name: "events_per_sec", Unit: workload.UnitOpsPerSec, Label: "events/s", HigherIsBetter: true, Headline: true},
	}, latencyMetrics("event")...)
}

// latencyMetrics are the figures of sysbench's general statistics and
// latency sections, common to its tests.
func latencyMetrics(what string) []workload.Metric {
	return []workload.Metric{
		{Name: "latency_avg", Unit: workload.UnitSeconds, Label: "avg latency", Headline: true},
		{Name: "latency_min", Unit: workload.UnitSeconds, Label: "min latency", Headline: true},
		{Name: "latency_max", Unit: workload.UnitSeconds, Label: "max latency"},
		{Name: "latency_p95", Unit: workload.UnitSeconds, Label: "p95 latency"},
		{Name: "total_time", Unit: workload.UnitSeconds, Label: "total time"},
		{Name: "events", Unit: workload.UnitCount, Label: what + "s", HigherIsBetter: true},
	}
}

// Check implements workload.Workload.
func (CPU) Check(_ driver.Info, p map[string]string) error {
	return checkInts(p, map[string]intRange{
		"max-prime": {3, maxPrime},
		"threads":   {1, workload.MaxThreads},
		"time":      {0, workload.MaxSeconds},
		"events":    {0, maxEvents},
	})
}

// Bounds of sysbench's counts, far beyond a study (primes up to 20000,
// events by the thousand) yet short of hours per event.
const (
	maxPrime  = 100_000_000
	maxEvents = 1_000_000_000_000
)

// intRange is the least and the most an integer parameter may be.
type intRange struct{ lo, hi int64 }

// checkInts checks that each named parameter is a whole number (base 10)
// within its range.
func checkInts(p map[string]string, ranges map[string]intRange) error {
	names := make([]string, 0, len(ranges))
	for name := range ranges {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		r := ranges[name]
		v, err := strconv.ParseInt(p[name], 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) || strings.HasPrefix(p[name], "+") {
			return fmt.Errorf("parameter %s: %q is not an integer", name, p[name])
		}
		switch {
		case err != nil && strings.HasPrefix(p[name], "-"), err == nil && v < r.lo:
			return fmt.Errorf("parameter %s: %s is below the minimum %d", name, p[name], r.lo)
		case err != nil, v > r.hi:
			return fmt.Errorf("parameter %s: %s is above the maximum %d", name, p[name], r.hi)
		}
	}
	return nil
}

// Run implements workload.Workload.
func (c CPU) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) error {
	p := t.Params
	if p["time"] == "0" && p["events"] == "0" {
		return fmt.Errorf("parameters time and events are both 0: sysbench would never stop")
	}
	secs, _ := strconv.Atoi(p["time"])
	req := agent.Request{
		Argv: []string{"sysbench", "cpu",
			"--cpu-max-prime=" + p["max-prime"],
			"--threads=" + p["threads"],
			"--time=" + p["time"],
			"--events=" + p["events"],
			"run"},
		Timeout: runTimeout(secs),
	}
	res, err := t.MustRun(ctx, req)
	rec.Raw("sysbench.stdout", res.Stdout)
	if err != nil {
		return err
	}
	return parseCPU(res.Stdout, rec)
}

// parseCPU records the figures of a sysbench cpu report. Nothing is
// recorded unless every figure is there.
func parseCPU(text string, rec workload.Recorder) error {
	rep, err := Parse(text)
	if err != nil {
		return err
	}
	var b buffered
	eps, err := rep.Float("cpu speed/events per second")
	if err != nil {
		return err
	}
	b.Sample("events_per_sec", eps)
	if err := recordGeneral(rep, &b); err != nil {
		return err
	}
	b.flush(rec)
	return nil
}

// runTimeout allows a sysbench run of secs seconds its own time plus a
// generous margin for start-up under slow isolation (software emulation).
func runTimeout(secs int) time.Duration {
	if secs <= 0 {
		return 30 * time.Minute
	}
	return time.Duration(secs)*time.Second*3 + 2*time.Minute
}

// recordGeneral records the general statistics and latency figures.
func recordGeneral(rep *Report, rec sampleAttrRecorder) error {
	// The fairness section is the report's last: without it the report was
	// cut short, and a number on the cut line may be cut too.
	if _, _, err := rep.Pair("threads fairness/execution time (avg/stddev)"); err != nil {
		return fmt.Errorf("sysbench report is incomplete: %w", err)
	}
	total, err := rep.Seconds("general statistics/total time")
	if err != nil {
		return err
	}
	events, err := rep.Float("general statistics/total number of events")
	if err != nil {
		return err
	}
	rec.Sample("total_time", total)
	rec.Sample("events", events)
	// sysbench prints latencies in milliseconds with two decimals, too coarse
	// for short events; its sum over all events has the same two decimals on
	// a far larger number, so sum/events gives the average at full precision.
	sum, err := rep.Millis("latency (ms)/sum")
	if err != nil {
		return err
	}
	if events <= 0 {
		return fmt.Errorf("sysbench report: total number of events is %v, no latency can be derived", events)
	}
	rec.Sample("latency_avg", sum/events)
	recordResolution(rec)
	for _, m := range []struct{ key, metric string }{
		{"latency (ms)/min", "latency_min"},
		{"latency (ms)/max", "latency_max"},
		{"latency (ms)/95th percentile", "latency_p95"},
	} {
		v, err := rep.Millis(m.key)
		if err != nil {
			return err
		}
		rec.Sample(m.metric, v)
	}
	return nil
}
