package syscalls

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/workload"
)

// Workload is the syscall workload.
type Workload struct{}

var (
	_ workload.Workload       = Workload{}
	_ workload.TrialTimeouter = Workload{}
)

// Name implements workload.Workload.
func (Workload) Name() string { return "syscall" }

// Doc implements workload.Workload.
func (Workload) Doc() string {
	return "cost of simple system calls inside the sandbox (getpid, a 64-byte pread, open+close), timed by the agent in a tight loop"
}

// Params implements workload.Workload.
func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "calls", Default: "100000", Doc: "calls per timed round of each operation", Profiles: map[string]string{"quick": "20000"}},
		{Name: "rounds", Default: "5", Doc: "timed rounds of each operation; the trial's figure is their median", Profiles: map[string]string{"quick": "3"}},
	}
}

// metricOf maps the agent's operations to metric names.
var metricOf = map[string]string{
	agent.OpGetpid:    "getpid",
	agent.OpRead:      "read",
	agent.OpOpenClose: "openclose",
}

// Metrics implements workload.Workload.
func (Workload) Metrics() []workload.Metric {
	return []workload.Metric{
		{Name: "getpid", Unit: workload.UnitSeconds, Label: "getpid", Headline: true},
		{Name: "read", Unit: workload.UnitSeconds, Label: "pread 64 B", Headline: true},
		{Name: "openclose", Unit: workload.UnitSeconds, Label: "open+close", Headline: true},
	}
}

// Check implements workload.Workload: every runtime can run it.
func (Workload) Check(_ driver.Info, p map[string]string) error {
	_, _, err := params(p)
	return err
}

func params(p map[string]string) (calls, rounds int, err error) {
	calls, err = strconv.Atoi(p["calls"])
	if err != nil || calls < 1 || calls > 100_000_000 {
		return 0, 0, fmt.Errorf("parameter calls: %q is not a count from 1 to 100000000", p["calls"])
	}
	rounds, err = strconv.Atoi(p["rounds"])
	if err != nil || rounds < 1 || rounds > 100 {
		return 0, 0, fmt.Errorf("parameter rounds: %q is not a count from 1 to 100", p["rounds"])
	}
	return calls, rounds, nil
}

// slowestCall is a generous bound on one call under the slowest isolation
// (gVisor on ptrace, software-emulated VMs), for the time limits.
const slowestCall = 200 * time.Microsecond

// TrialTimeout implements workload.TrialTimeouter.
func (Workload) TrialTimeout(p map[string]string) time.Duration {
	calls, rounds, err := params(p)
	if err != nil {
		return 0
	}
	return runTimeout(calls, rounds) + 3*time.Minute
}

func runTimeout(calls, rounds int) time.Duration {
	ops := len(agent.SyscallOps())
	return time.Duration(calls*(rounds+1)*ops)*slowestCall + time.Minute
}

// Run implements workload.Workload. The agent's syscalls mode runs as the
// sandbox's command itself (not under `agent exec`, whose command would be
// looked up in the host's file system on the host baseline).
func (Workload) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) error {
	calls, rounds, err := params(t.Params)
	if err != nil {
		return err
	}
	if t.Instance == nil {
		return errors.New("syscall: no sandbox to run in")
	}
	rctx, cancel := context.WithTimeout(ctx, runTimeout(calls, rounds))
	defer cancel()
	argv := []string{image.AgentPath, "syscalls", "-n", strconv.Itoa(calls), "-rounds", strconv.Itoa(rounds)}
	var stdout, stderr bounded
	stdout.limit, stderr.limit = 1<<20, 4096
	err = t.Instance.Exec(rctx, argv, &stdout, &stderr)
	rec.Raw("syscalls.json", agent.Printable(stdout.buf.String()))
	if err != nil {
		if msg := strings.TrimSpace(stderr.buf.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, agent.Printable(msg))
		}
		return fmt.Errorf("running %s in %s: %w", strings.Join(argv, " "), t.Runtime.Name, err)
	}
	if stdout.dropped > 0 {
		return fmt.Errorf("syscalls report: more than %d bytes: not a report", stdout.limit)
	}
	return record(stdout.buf.String(), calls, rec)
}

// bounded keeps the first limit bytes written to it and counts the rest;
// it never fails a write.
type bounded struct {
	buf     bytes.Buffer
	limit   int
	dropped int
}

func (b *bounded) Write(p []byte) (int, error) {
	room := max(b.limit-b.buf.Len(), 0)
	k := min(room, len(p))
	b.buf.Write(p[:k])
	b.dropped += len(p) - k
	return len(p), nil
}

// record records the figures of an agent's syscall report, in seconds per
// call. Nothing is recorded unless the report is whole.
func record(text string, calls int, rec workload.Recorder) error {
	rep, err := agent.ParseSyscallReport(text)
	if err != nil {
		return err
	}
	if rep.Calls != calls {
		return fmt.Errorf("syscalls report: %d calls per round, asked for %d", rep.Calls, calls)
	}
	got := map[string]float64{}
	for _, op := range rep.Ops {
		m, ok := metricOf[op.Op]
		if !ok {
			return fmt.Errorf("syscalls report: unknown operation %q", op.Op)
		}
		got[m] = op.MedianNanos * 1e-9
	}
	for _, op := range agent.SyscallOps() {
		if _, ok := got[metricOf[op]]; !ok {
			return fmt.Errorf("syscalls report: operation %s missing", op)
		}
	}
	for _, op := range agent.SyscallOps() {
		rec.Sample(metricOf[op], got[metricOf[op]])
	}
	rec.Attr("syscall.file", rep.File)
	return nil
}
