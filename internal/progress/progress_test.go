package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
)

// fakePlan has two cells (fast host, slow runc), two trials each,
// interleaved.
func fakePlan() *plan.Plan {
	cells := []result.Cell{{Runtime: "host", Workload: "cpu"}, {Runtime: "runc", Workload: "cpu"}}
	return &plan.Plan{Cells: cells, Steps: plan.Order(len(cells), 0, 2, plan.OrderInterleaved, 1)}
}

// drive feeds the progress display the plan's trials, host taking 1s and
// runc 3s each, on a fake clock.
func drive(pr *Display, p *plan.Plan) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pr.now = func() time.Time { return clock }
	for _, st := range p.Steps {
		c := p.Cells[st.Cell]
		pr.TrialStarted(st, c, len(p.Steps))
		d := time.Second
		if c.Runtime == "runc" {
			d = 3 * time.Second
		}
		t := result.Trial{Cell: c, Index: st.Index, Status: result.StatusOK, Start: clock, End: clock.Add(d)}
		clock = clock.Add(d)
		pr.TrialEnded(t, len(p.Steps))
	}
}

func TestProgressPlainLines(t *testing.T) {
	p := fakePlan()
	var buf bytes.Buffer
	pr := New(&buf, p, nil, false)
	drive(pr, p)
	pr.Close()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want one per trial:\n%s", len(lines), buf.String())
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, "["+string(rune('1'+i))+"/4]") {
			t.Errorf("line %d: %q", i+1, l)
		}
	}
	// After the first round (one host, one runc trial) one trial of each
	// is left: 1s + 3s.
	if !strings.HasSuffix(lines[1], "ETA 4s") {
		t.Errorf("after two trials: %q, want ETA 4s", lines[1])
	}
	if !strings.HasSuffix(lines[3], "ETA 0s") {
		t.Errorf("last line: %q, want ETA 0s", lines[3])
	}
	if got := pr.counts(); got != "trials 4/4  cells 2/2" {
		t.Errorf("counts = %q", got)
	}
}

func TestProgressSkipsAndFailures(t *testing.T) {
	p := fakePlan()
	var buf bytes.Buffer
	pr := New(&buf, p, func(st plan.Step) bool { return st.Cell == 1 }, false)
	if pr.planned != 2 || pr.cellsAll != 1 {
		t.Fatalf("planned %d trials in %d cells, want 2 in 1 (runc skipped)", pr.planned, pr.cellsAll)
	}
	st := p.Steps[0]
	for _, s := range p.Steps {
		if s.Cell == 0 {
			st = s
			break
		}
	}
	pr.TrialStarted(st, p.Cells[0], 4)
	now := time.Now()
	pr.TrialEnded(result.Trial{Cell: p.Cells[0], Status: result.StatusFailed, Error: "boom\nmore", Start: now, End: now.Add(time.Second)}, 4)
	if !strings.Contains(buf.String(), "failed: boom ") || !strings.Contains(pr.counts(), "(1 failed)") {
		t.Errorf("failure not shown: %q, %q", buf.String(), pr.counts())
	}
}

func TestProgressLive(t *testing.T) {
	p := fakePlan()
	var buf bytes.Buffer
	pr := New(&buf, p, nil, true)
	drive(pr, p)
	pr.Close()
	pr.Close() // idempotent
	out := buf.String()
	if !strings.Contains(out, "trials 4/4") || !strings.Contains(out, "[4/4] runc") && !strings.Contains(out, "[4/4] host") {
		t.Errorf("live display did not end with every trial shown:\n%s", out)
	}
}

func TestFormatETA(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 1400 * time.Millisecond: "1s", 59 * time.Second: "59s", 61 * time.Second: "1m",
		200 * time.Second: "3m20s", 2*time.Hour + 5*time.Minute: "2h05m", -time.Second: "0s",
	} {
		if got := formatETA(d); got != want {
			t.Errorf("formatETA(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestProgressCellLabels: a progress line tells apart the cells of one
// workload by the parameters that differ between them, and only those.
func TestProgressCellLabels(t *testing.T) {
	cells := []result.Cell{
		{Runtime: "host", Workload: "fileio", Params: map[string]string{"mode": "seqrd", "block-size": "16K"}},
		{Runtime: "host", Workload: "fileio", Params: map[string]string{"mode": "seqwr", "block-size": "16K"}},
		{Runtime: "host", Workload: "cpu", Params: map[string]string{"max-prime": "20000", "threads": "1"}},
		{Runtime: "runc", Workload: "cpu", Params: map[string]string{"max-prime": "20000", "threads": "1"}},
		{Runtime: "host", Workload: "startup", Params: map[string]string{"exec": "/bin/true"}},
		{Runtime: "host", Workload: "startup", Params: map[string]string{"exec": "/bin/echo hi"}},
	}
	p := &plan.Plan{Cells: cells, Steps: plan.Order(len(cells), 0, 1, plan.OrderBlocks, 1)}
	var buf bytes.Buffer
	pr := New(&buf, p, nil, false)
	drive(pr, p)
	pr.Close()
	for _, want := range []string{" fileio(mode=seqrd) ", " fileio(mode=seqwr) ", " cpu ", " startup(exec=/bin/echo_hi) "} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no line shows %q:\n%s", want, buf.String())
		}
	}
	if strings.Contains(buf.String(), "block-size") || strings.Contains(buf.String(), "max-prime") {
		t.Errorf("a parameter that all cells share is shown:\n%s", buf.String())
	}
}
