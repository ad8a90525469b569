package result

import (
	"sort"
	"strings"
	"time"
)

// Status is the outcome of one trial.
type Status string

// Trial outcomes. A trial that did not end in StatusOK is kept with its error;
// it is never dropped from the results.
const (
	StatusOK          Status = "ok"
	StatusFailed      Status = "failed"
	StatusTimeout     Status = "timeout"
	StatusInterrupted Status = "interrupted"
)

// Sample is one measured value of one metric in one trial.
type Sample struct {
	Metric string  `json:"metric"`
	Unit   string  `json:"unit"`
	Value  float64 `json:"value"`
}

// Cell names what a trial measures: one runtime, one workload, one set of
// parameters. Trials of the same cell are repetitions of one another.
type Cell struct {
	Runtime  string            `json:"runtime"`
	Workload string            `json:"workload"`
	Params   map[string]string `json:"params,omitempty"`
}

// Key is a stable text form of the cell, usable as a map key and in files.
func (c Cell) Key() string {
	var b strings.Builder
	b.WriteString(c.Runtime)
	b.WriteByte('/')
	b.WriteString(c.Workload)
	b.WriteString(ParamString(c.Params))
	return b.String()
}

// ParamString renders parameters in sorted order as ";k=v;k=v", or "" when
// there are none.
func ParamString(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteByte(';')
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(p[k])
	}
	return b.String()
}

// Trial is the record of one execution of one cell.
type Trial struct {
	RunID string `json:"run_id,omitempty"`
	// Seq is the trial's position in the run's order, from 0.
	Seq  int  `json:"seq"`
	Cell Cell `json:"cell"`
	// Index counts the measured trials of the cell from 0; warm-ups count
	// separately.
	Index  int    `json:"index"`
	Warmup bool   `json:"warmup,omitempty"`
	Status Status `json:"status"`
	// Error is the failure as the runtime or tool reported it.
	Error   string            `json:"error,omitempty"`
	Samples []Sample          `json:"samples,omitempty"`
	Attrs   map[string]string `json:"attrs,omitempty"`
	// Raw holds tool outputs by name (e.g. "sysbench.stdout").
	Raw   map[string]string `json:"raw,omitempty"`
	Start time.Time         `json:"start"`
	End   time.Time         `json:"end"`
}

// Value returns the value of a metric in the trial and whether it is there.
func (t *Trial) Value(metric string) (float64, bool) {
	for _, s := range t.Samples {
		if s.Metric == metric {
			return s.Value, true
		}
	}
	return 0, false
}

// Skip records a runtime or cell left out of a run, with the reason.
type Skip struct {
	Runtime  string `json:"runtime"`
	Workload string `json:"workload,omitempty"`
	Reason   string `json:"reason"`
}

// Runtime records what a runtime was when the run used it.
type Runtime struct {
	Name      string            `json:"name"`
	Version   string            `json:"version,omitempty"`
	Isolation string            `json:"isolation,omitempty"`
	Features  map[string]string `json:"features,omitempty"`
	Warnings  []string          `json:"warnings,omitempty"`
}

// RunStatus is the state of a run as a whole.
type RunStatus string

// Run states. A run is running from its start until it ends; one that
// stopped before its plan was done (a signal, a fatal error) is interrupted
// and can be resumed. A process killed outright leaves its run as running.
const (
	RunRunning     RunStatus = "running"
	RunFinished    RunStatus = "finished"
	RunInterrupted RunStatus = "interrupted"
)

// Run is one invocation of isobench run: what was asked, on what machine,
// and every trial it made.
// EnvOwner is the Run.Env key of the isobench process that runs (or last
// ran) a run, as "PID:START" (the pid and its start time in clock ticks
// since boot): a run marked running whose owner is gone was killed.
const EnvOwner = "isobench.owner"

type Run struct {
	ID       string            `json:"id"`
	Started  time.Time         `json:"started"`
	Ended    time.Time         `json:"ended,omitzero"`
	Status   RunStatus         `json:"status,omitempty"`
	Command  []string          `json:"command,omitempty"`
	Version  string            `json:"version,omitempty"`
	Seed     int64             `json:"seed"`
	Order    string            `json:"order,omitempty"`
	Profile  string            `json:"profile,omitempty"`
	Baseline string            `json:"baseline,omitempty"`
	Suite    string            `json:"suite,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
	Runtimes []Runtime         `json:"runtimes,omitempty"`
	Skipped  []Skip            `json:"skipped,omitempty"`
	Trials   []Trial           `json:"trials,omitempty"`
}
