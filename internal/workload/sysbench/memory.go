package sysbench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

// Memory is sysbench's memory test: it reads or writes a buffer in blocks,
// sequentially or at random, until a total size has been transferred. It is
// the study's memory benchmark (figure 9: total time; figure 10: average
// and minimum latency of one block operation).
type Memory struct{}

var (
	_ workload.Workload       = Memory{}
	_ workload.TrialTimeouter = Memory{}
)

// Name implements workload.Workload.
func (Memory) Name() string { return "memory" }

// Doc implements workload.Workload.
func (Memory) Doc() string {
	return "sysbench memory: block reads or writes until a total size is transferred; total time, per-block latency, MiB/s"
}

// Params implements workload.Workload.
func (Memory) Params() []workload.Param {
	return []workload.Param{
		{Name: "block-size", Default: "1K", Doc: "size of one operation's block (sysbench's default 1K)"},
		{Name: "total-size", Default: "100G", Doc: "data to transfer in all (sysbench's default 100G)", Profiles: map[string]string{"quick": "2G"}},
		{Name: "operation", Default: "write", Doc: "read or write (sysbench's default write)"},
		{Name: "access-mode", Default: "seq", Doc: "seq or rnd block order (sysbench's default seq)"},
		{Name: "scope", Default: "global", Doc: "global (one buffer shared by the threads) or local (one per thread)"},
		{Name: "threads", Default: "1", Doc: "worker threads"},
		{Name: "time", Default: "0", Doc: "seconds after which sysbench stops even if total-size is not reached; 0: no limit, so that total time measures the transfer (sysbench's own default, 10, would cut a 100G run and make total time the limit)"},
	}
}

// Metrics implements workload.Workload.
func (Memory) Metrics() []workload.Metric {
	return []workload.Metric{
		{Name: "total_time", Unit: workload.UnitSeconds, Label: "total time", Headline: true},
		{Name: "latency_avg", Unit: workload.UnitSeconds, Label: "avg latency", Headline: true},
		{Name: "latency_min", Unit: workload.UnitSeconds, Label: "min latency", Headline: true},
		{Name: "bytes_per_sec", Unit: workload.UnitBytesPerSec, Label: "transfer", HigherIsBetter: true, Headline: true},
		{Name: "ops_per_sec", Unit: workload.UnitOpsPerSec, Label: "ops/s", HigherIsBetter: true},
		{Name: "latency_max", Unit: workload.UnitSeconds, Label: "max latency"},
		{Name: "latency_p95", Unit: workload.UnitSeconds, Label: "p95 latency"},
		{Name: "bytes", Unit: workload.UnitBytes, Label: "transferred", HigherIsBetter: true},
		{Name: "events", Unit: workload.UnitCount, Label: "operations", HigherIsBetter: true},
	}
}

// Check implements workload.Workload.
func (Memory) Check(_ driver.Info, p map[string]string) error {
	if err := checkSizes(p, map[string]intRange{"block-size": {1, maxBlockSize}, "total-size": {1, maxMemoryTotal}}); err != nil {
		return err
	}
	if err := checkInts(p, map[string]intRange{"threads": {1, workload.MaxThreads}, "time": {0, workload.MaxSeconds}}); err != nil {
		return err
	}
	if err := checkChoice(p, "operation", "read", "write"); err != nil {
		return err
	}
	if err := checkChoice(p, "access-mode", "seq", "rnd"); err != nil {
		return err
	}
	return checkChoice(p, "scope", "global", "local")
}

// TrialTimeout implements workload.TrialTimeouter.
func (Memory) TrialTimeout(p map[string]string) time.Duration {
	secs, err := strconv.Atoi(p["time"])
	if err != nil || secs < 0 {
		secs = 0
	}
	return runTimeout(secs) + startMargin
}

// Run implements workload.Workload.
func (m Memory) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) error {
	p := t.Params
	block, err := parseSize(p["block-size"])
	if err != nil {
		return fmt.Errorf("parameter block-size: %w", err)
	}
	total, err := parseSize(p["total-size"])
	if err != nil {
		return fmt.Errorf("parameter total-size: %w", err)
	}
	secs, _ := strconv.Atoi(p["time"])
	req := agent.Request{
		Argv: []string{"sysbench", "memory",
			"--memory-block-size=" + strconv.FormatInt(block, 10),
			"--memory-total-size=" + strconv.FormatInt(total, 10),
			"--memory-oper=" + p["operation"],
			"--memory-access-mode=" + p["access-mode"],
			"--memory-scope=" + p["scope"],
			"--threads=" + p["threads"],
			"--time=" + p["time"],
			"--events=0",
			"run"},
		Timeout: runTimeout(secs),
	}
	out, err := run(ctx, t, rec, "sysbench.stdout", req)
	if err != nil {
		return err
	}
	return parseMemory(out, block, total, rec)
}

// parseMemory records the figures of a sysbench memory report. block and
// total are the sizes asked for, in bytes, to tell a run cut short by the
// time limit (an attribute says which limit ended it). Nothing is recorded
// unless every figure is there.
func parseMemory(text string, block, total int64, rec workload.Recorder) error {
	rep, err := Parse(text)
	if err != nil {
		return err
	}
	var b buffered
	ops, err := rep.Float("results/total operations")
	if err != nil {
		return err
	}
	opsRate, err := parenRate(rep, "results/total operations", "per second")
	if err != nil {
		return err
	}
	mib, err := rep.Float("results/mib transferred")
	if err != nil {
		return err
	}
	mibRate, err := rep.Float("results/mib per second")
	if err != nil {
		return err
	}
	if err := recordGeneral(rep, &b); err != nil {
		return err
	}
	b.Sample("ops_per_sec", opsRate)
	b.Sample("bytes_per_sec", mibRate*(1<<20))
	b.Sample("bytes", mib*(1<<20))
	if block > 0 && total > 0 {
		want := float64(total / block)
		limit := "total-size"
		if ops < want {
			limit = "time"
		}
		b.Attr("memory.ended_by", limit)
	}
	b.flush(rec)
	return nil
}

// parenRate reads the rate in parentheses of a value such as
// "1048576 (4629990.47 per second)".
func parenRate(rep *Report, key, unit string) (float64, error) {
	v, _ := rep.String(key)
	_, rest, ok := strings.Cut(v, "(")
	if !ok || !strings.HasSuffix(rest, " "+unit+")") {
		return 0, fmt.Errorf("sysbench report %q: %q has no \"(N %s)\"", key, v, unit)
	}
	f, err := leadingFloat(strings.TrimSuffix(rest, " "+unit+")"))
	if err != nil {
		return 0, fmt.Errorf("sysbench report %q: %w", key, err)
	}
	return f, nil
}
