package progress

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/runner"
)

// Display shows a run's progress: trials and cells done of their totals,
// the trial under way and an estimate of the time left. On a terminal it is
// a live bar (mpb) with a line above it per finished trial; elsewhere (a
// file, a pipe, CI) it prints one plain line per trial.
//
// The estimate adds, for every trial still to run, the mean duration of the
// finished trials of its cell, or of its workload, or of all, so that slow
// runtimes (emulated VMs) weigh as much as they will.
type Display struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time

	cells     []result.Cell
	planned   int            // trials this process will run
	remaining map[int]int    // cell index -> trials still to run
	cellLeft  map[int]bool   // cells with trials still to run
	cellKey   map[string]int // cell key -> index
	cellsAll  int
	lastTotal int
	// varying names, per workload, the parameters whose values differ
	// between its cells: what a progress line shows of a cell.
	varying map[string][]string

	done        int
	failed      int
	sum         map[int]time.Duration // per cell: time of finished trials
	count       map[int]int
	current     string
	currentCell int
	started     time.Time

	bar *mpb.Bar
	p   *mpb.Progress
}

var _ runner.Observer = (*Display)(nil)

// IsTerminal reports whether w is a terminal: whether New should draw
// the live bar on it.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New prepares the display of the steps of p that skip does not leave
// out. live selects the bar; otherwise plain lines are written.
func New(w io.Writer, p *plan.Plan, skip func(plan.Step) bool, live bool) *Display {
	pr := &Display{
		w: w, now: time.Now, cells: p.Cells,
		remaining: map[int]int{}, cellLeft: map[int]bool{}, cellKey: map[string]int{},
		sum: map[int]time.Duration{}, count: map[int]int{}, currentCell: -1,
		lastTotal: len(p.Steps),
	}
	for i, c := range p.Cells {
		pr.cellKey[c.Key()] = i
	}
	pr.varying = varyingParams(p.Cells)
	for _, st := range p.Steps {
		if skip != nil && skip(st) {
			continue
		}
		pr.planned++
		pr.remaining[st.Cell]++
		pr.cellLeft[st.Cell] = true
	}
	pr.cellsAll = len(pr.cellLeft)
	if live {
		// The caller judged w a terminal (or wants it drawn as one).
		pr.p = mpb.New(mpb.WithOutput(w), mpb.WithAutoRefresh(), mpb.WithWidth(32), mpb.WithRefreshRate(200*time.Millisecond))
		pr.bar = pr.p.AddBar(int64(max(pr.planned, 1)),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return pr.counts() })),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return pr.status() })),
		)
	}
	return pr
}

// TrialStarted implements runner.Observer.
func (pr *Display) TrialStarted(st plan.Step, c result.Cell, total int) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if total > pr.lastTotal {
		// The adaptive stop added trials.
		pr.planned += total - pr.lastTotal
		pr.lastTotal = total
		if pr.bar != nil {
			pr.bar.SetTotal(int64(pr.planned), false)
		}
	}
	if i, ok := pr.cellKey[c.Key()]; ok && pr.remaining[i] == 0 {
		// A step beyond the plan (adaptive stop) for a finished cell.
		pr.remaining[i]++
		if !pr.cellLeft[i] {
			pr.cellLeft[i] = true
		}
	}
	pr.current = fmt.Sprintf("%s %s %s", c.Runtime, pr.workloadLabel(c), TrialKind(st.Warmup, st.Index))
	pr.currentCell = pr.cellKey[c.Key()]
	pr.started = pr.now()
}

// TrialEnded implements runner.Observer.
func (pr *Display) TrialEnded(t result.Trial, total int) {
	pr.mu.Lock()
	pr.done++
	if t.Status != result.StatusOK {
		pr.failed++
	}
	i, ok := pr.cellKey[t.Cell.Key()]
	if ok {
		pr.sum[i] += t.End.Sub(t.Start)
		pr.count[i]++
		if pr.remaining[i] > 0 {
			pr.remaining[i]--
		}
		if pr.remaining[i] == 0 {
			delete(pr.cellLeft, i)
		}
	}
	pr.current = ""
	status := string(t.Status)
	if t.Error != "" {
		status += ": " + firstLine(t.Error)
	}
	line := fmt.Sprintf("[%*d/%d] %-8s %-8s %-10s %6.1fs %s  ETA %s\n", len(fmt.Sprint(pr.planned)), pr.done, pr.planned,
		t.Cell.Runtime, pr.workloadLabel(t.Cell), TrialKind(t.Warmup, t.Index), t.End.Sub(t.Start).Seconds(), status, pr.etaLocked())
	bar := pr.bar
	pr.mu.Unlock()
	if bar != nil {
		fmt.Fprint(pr.p, line) // printed above the bar
		bar.Increment()
		return
	}
	fmt.Fprint(pr.w, line)
}

// Close ends the live display; it is safe to call more than once.
func (pr *Display) Close() {
	pr.mu.Lock()
	p, bar := pr.p, pr.bar
	pr.p, pr.bar = nil, nil
	pr.mu.Unlock()
	if p == nil {
		return
	}
	if !bar.Completed() {
		bar.Abort(false)
	}
	p.Wait()
}

// varyingParams returns, per workload, the sorted names of the parameters
// whose values differ between the workload's cells.
func varyingParams(cells []result.Cell) map[string][]string {
	values := map[string]map[string]map[string]bool{} // workload -> param -> values
	for _, c := range cells {
		if values[c.Workload] == nil {
			values[c.Workload] = map[string]map[string]bool{}
		}
		for k, v := range c.Params {
			if values[c.Workload][k] == nil {
				values[c.Workload][k] = map[string]bool{}
			}
			values[c.Workload][k][v] = true
		}
	}
	out := map[string][]string{}
	for w, params := range values {
		for k, vs := range params {
			if len(vs) > 1 {
				out[w] = append(out[w], k)
			}
		}
		sort.Strings(out[w])
	}
	return out
}

// workloadLabel names a cell's workload in a progress line, with the
// parameters that tell it from the workload's other cells, as one word:
// "fileio(mode=seqwr)".
func (pr *Display) workloadLabel(c result.Cell) string {
	keys := pr.varying[c.Workload]
	if len(keys) == 0 {
		return c.Workload
	}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strings.ReplaceAll(c.Params[k], " ", "_"))
	}
	return c.Workload + "(" + strings.Join(parts, ",") + ")"
}

// TrialKind names a trial in a line: "trial 3", "warm-up 1".
func TrialKind(warmup bool, index int) string {
	if warmup {
		return fmt.Sprintf("warm-up %d", index+1)
	}
	return fmt.Sprintf("trial %d", index+1)
}

// counts is the bar's left side: "trials 5/12, cells 1/2".
func (pr *Display) counts() string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	s := fmt.Sprintf("trials %d/%d  cells %d/%d", pr.done, pr.planned, pr.cellsAll-len(pr.cellLeft), pr.cellsAll)
	if pr.failed > 0 {
		s += fmt.Sprintf("  (%d failed)", pr.failed)
	}
	return s
}

// status is the bar's right side: the trial under way and the time left.
func (pr *Display) status() string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	cur := pr.current
	if cur == "" {
		cur = "-"
	}
	return fmt.Sprintf("%s  ETA %s", cur, pr.etaLocked())
}

// etaLocked estimates the time left; "?" before any trial ended.
func (pr *Display) etaLocked() string {
	var all time.Duration
	n := 0
	byWorkload := map[string]time.Duration{}
	nWorkload := map[string]int{}
	for i, d := range pr.sum {
		all += d
		n += pr.count[i]
		w := pr.cells[i].Workload
		byWorkload[w] += d
		nWorkload[w] += pr.count[i]
	}
	if n == 0 {
		return "?"
	}
	var left time.Duration
	for i, k := range pr.remaining {
		if k == 0 {
			continue
		}
		var est time.Duration
		switch w := pr.cells[i].Workload; {
		case pr.count[i] > 0:
			est = pr.sum[i] / time.Duration(pr.count[i])
		case nWorkload[w] > 0:
			est = byWorkload[w] / time.Duration(nWorkload[w])
		default:
			est = all / time.Duration(n)
		}
		left += est * time.Duration(k)
		if i == pr.currentCell && pr.current != "" {
			left -= min(pr.now().Sub(pr.started), est)
		}
	}
	return formatETA(left)
}

// formatETA rounds a duration for reading: "45s", "3m20s", "1h05m".
func formatETA(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(10 * time.Second)
		return strings.TrimSuffix(fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60), "00s")
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// firstLine is the first line of an error, cut at 200 bytes.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	return line
}
