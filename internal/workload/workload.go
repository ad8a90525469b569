package workload

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/result"
)

// Units of samples. Every sample is in one of these base units.
const (
	UnitSeconds     = "sec"
	UnitBytes       = "B"
	UnitBytesPerSec = "B/s"
	UnitOpsPerSec   = "ops/s"
	UnitCount       = "count"
	UnitRatio       = "ratio"
)

// Metric describes one figure a workload reports.
type Metric struct {
	Name  string `json:"name"`  // e.g. "latency_avg"
	Unit  string `json:"unit"`  // one of the Unit constants
	Label string `json:"label"` // for tables and figures, e.g. "avg latency"
	// HigherIsBetter says which way an improvement goes.
	HigherIsBetter bool `json:"higher_is_better"`
	// Headline metrics appear in the terminal table.
	Headline bool `json:"headline,omitempty"`
}

// Param is one parameter of a workload.
type Param struct {
	Name    string
	Default string
	Doc     string
	// Profiles gives the parameter's value under a named profile (e.g.
	// "quick"), where it differs from Default.
	Profiles map[string]string
}

// Workload is one benchmark.
type Workload interface {
	Name() string
	Doc() string
	Params() []Param
	Metrics() []Metric
	// Check says whether the workload can run on the runtime with these
	// (resolved) parameters: a bad value is a plain error naming the
	// parameter, an unsupported combination matches driver.ErrNotSupported.
	Check(info driver.Info, params map[string]string) error
	// Run measures once in the started sandbox of t.
	Run(ctx context.Context, t *Target, rec Recorder) error
}

// SandboxMaker is implemented by workloads that make and time their own
// sandboxes (startup, density): the runner then starts none for them and
// gives them Target.Driver and Target.NewSpec instead of an Instance. Such a
// workload must Close every instance it made before Run returns.
type SandboxMaker interface {
	MakesSandboxes() bool
}

// Recorder takes what a trial measured.
type Recorder interface {
	// Sample records a value of a declared metric, in its unit.
	Sample(metric string, value float64)
	// Attr records a fact about the trial (e.g. the scratch filesystem type).
	Attr(key, value string)
	// Raw keeps a tool's raw output under a name.
	Raw(name, text string)
}

// Target is the sandbox a workload runs in, with its resolved parameters.
type Target struct {
	Runtime driver.Info
	// Instance is the started sandbox; nil for a workload that makes its own
	// (see SandboxMaker).
	Instance driver.Instance
	// Driver and NewSpec let a SandboxMaker make sandboxes of the runtime:
	// each call of NewSpec gives a spec with a fresh unique ID.
	Driver  driver.Driver
	NewSpec func() driver.Spec
	Params  map[string]string
	// Scratch is the directory for the workload's files, as seen inside the
	// sandbox, and ScratchKind where it lives (a driver.Scratch* constant).
	Scratch     string
	ScratchKind string
	// Host holds operations isobench may do on the host between steps of a
	// trial; nil when none are available.
	Host HostOps
}

// HostOps are host-side actions a workload may ask for between its steps.
type HostOps interface {
	// DropCaches writes back dirty pages and drops the host's page cache.
	DropCaches(ctx context.Context) error
}

// Run runs one command inside the sandbox through the agent and returns the
// agent's result. The error is about reaching the command (the runtime's own
// failure, with its text); a command that ran and failed is a Result whose
// Err is not nil.
func (t *Target) Run(ctx context.Context, req agent.Request) (agent.Result, error) {
	argv := []string{image.AgentPath, "exec"}
	if req.Dir != "" {
		argv = append(argv, "--dir", req.Dir)
	}
	for _, e := range req.Env {
		argv = append(argv, "--env", e)
	}
	if req.Timeout > 0 {
		argv = append(argv, "--timeout", req.Timeout.String())
	}
	if req.OutputLimit > 0 {
		argv = append(argv, "--output-limit", strconv.Itoa(req.OutputLimit))
	}
	argv = append(argv, "--")
	argv = append(argv, req.Argv...)
	// What comes back is the sandbox's to say and not trusted: both
	// streams are bounded (what is over is counted and dropped, so the
	// sandbox never blocks on a full pipe), and the agent's answer must
	// parse as exactly one result.
	var stdout, stderr boundedBuffer
	stdout.limit, stderr.limit = agent.MaxLine, 1<<20
	execErr := t.Instance.Exec(ctx, argv, &stdout, &stderr)
	results, parseErr := agent.ParseResults(bytes.NewReader(stdout.buf.Bytes()))
	if stdout.dropped > 0 {
		parseErr = fmt.Errorf("the agent wrote more than %d bytes (%d more were dropped): not a result", stdout.limit, stdout.dropped)
	}
	if len(results) == 1 && parseErr == nil {
		return results[0], nil
	}
	if ctx.Err() != nil {
		return agent.Result{}, fmt.Errorf("running %s: %w", strings.Join(req.Argv, " "), ctx.Err())
	}
	var msg []string
	if execErr != nil {
		msg = append(msg, tail(execErr.Error(), 1000))
	}
	if s := strings.TrimSpace(stderr.buf.String()); s != "" {
		msg = append(msg, tail(s, 1000))
	}
	if parseErr != nil {
		msg = append(msg, parseErr.Error())
	} else if len(results) != 1 {
		msg = append(msg, fmt.Sprintf("agent returned %d results, want 1", len(results)))
	}
	return agent.Result{}, fmt.Errorf("running %s in %s: %s", strings.Join(req.Argv, " "), t.Runtime.Name, strings.Join(msg, ": "))
}

// MustRun is Run that also turns a failed command into an error.
func (t *Target) MustRun(ctx context.Context, req agent.Request) (agent.Result, error) {
	res, err := t.Run(ctx, req)
	if err != nil {
		return res, err
	}
	return res, res.Err()
}

// tail keeps the end of a text from the sandbox or its runtime, which says
// most (the whole would swamp a trial's error), made printable.
func tail(s string, n int) string {
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return agent.Printable(s)
}

// boundedBuffer keeps the first limit bytes written to it and counts the
// rest. It never fails a write, so a writer is never cut off mid-stream.
type boundedBuffer struct {
	buf     bytes.Buffer
	limit   int
	dropped int64
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	room := b.limit - b.buf.Len()
	if room >= len(p) {
		return b.buf.Write(p)
	}
	if room > 0 {
		b.buf.Write(p[:room])
	}
	b.dropped += int64(len(p) - max(room, 0))
	return len(p), nil
}

var _ io.Writer = (*boundedBuffer)(nil)

// Registry lists workloads by name, in a fixed order.
type Registry struct {
	names  []string
	byName map[string]Workload
}

// Register adds a workload; a duplicate name is a programming error.
func (r *Registry) Register(w Workload) {
	if r.byName == nil {
		r.byName = map[string]Workload{}
	}
	if _, dup := r.byName[w.Name()]; dup {
		panic("workload: duplicate registration of " + w.Name())
	}
	r.names = append(r.names, w.Name())
	r.byName[w.Name()] = w
}

// Names lists workloads in registration order.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }

// Get returns the named workload.
func (r *Registry) Get(name string) (Workload, error) {
	w, ok := r.byName[name]
	if !ok {
		known := r.Names()
		sort.Strings(known)
		return nil, fmt.Errorf("unknown workload %q (known: %s)", name, strings.Join(known, ", "))
	}
	return w, nil
}

// Resolve returns the workload's full parameter set: defaults, overridden by
// the profile's values, overridden by set. A key of set that the workload does
// not have is an error naming it; a reserved key (IsReserved) is let through
// only as a grant the workload takes (see Grants).
func Resolve(w Workload, profile string, set map[string]string) (map[string]string, error) {
	out := map[string]string{}
	known := map[string]bool{}
	for _, p := range w.Params() {
		known[p.Name] = true
		out[p.Name] = p.Default
		if v, ok := p.Profiles[profile]; ok {
			out[p.Name] = v
		}
	}
	for k, v := range set {
		if IsReserved(k) {
			if err := checkReserved(w, k, v); err != nil {
				return nil, err
			}
			out[k] = v
			continue
		}
		if !known[k] {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("workload %s has no parameter %q (it has: %s)", w.Name(), k, strings.Join(names, ", "))
		}
		out[k] = v
	}
	return out, nil
}

// MetricOf returns the declared metric of a workload by name.
func MetricOf(w Workload, name string) (Metric, bool) {
	for _, m := range w.Metrics() {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Sample builds a result sample for a declared metric.
func Sample(w Workload, metric string, v float64) (result.Sample, error) {
	m, ok := MetricOf(w, metric)
	if !ok {
		return result.Sample{}, fmt.Errorf("workload %s recorded undeclared metric %q", w.Name(), metric)
	}
	return result.Sample{Metric: metric, Unit: m.Unit, Value: v}, nil
}

// Disclosure kinds: what a workload's parameters make isobench do that a
// user must see before a run starts.
const (
	// DiscloseCommand is a command the user supplied that will run.
	DiscloseCommand = "command"
	// DiscloseHostFile is a file on the host that will be read or written.
	DiscloseHostFile = "host file"
)

// Disclosure is one command or host file a workload's parameters name.
type Disclosure struct {
	Kind  string // DiscloseCommand or DiscloseHostFile
	Param string // the parameter that names it, e.g. "exec"
	What  string // the command or the file, as the user gave it
	// Note says more: where in a file it was found, what is done with it.
	Note string
	// Sandboxed says it happens where the workload runs: inside each
	// sandbox, which for the host baseline is the host itself, as root.
	// When false, isobench itself does it on the host, for every runtime.
	Sandboxed bool
}

// Discloser is implemented by workloads a parameter of which is a command
// or a host file. Disclose lists them for one cell's resolved parameters,
// before anything runs; values the user left at their defaults are not
// listed. An error refuses the parameters outright (e.g. a job file that
// runs commands without Grants.AllowExec), naming the file, line and
// option.
type Discloser interface {
	Disclose(params map[string]string) ([]Disclosure, error)
}

// Grants are what only the command line may allow (isobench run
// --allow-exec, --store-profile). A suite file is untrusted input: it may
// name a job file, but never allow what that file would do.
//
// Grants reach a workload as reserved parameters (ParamAllowExec,
// ParamStoreProfile) because parameters are the one thing that flows from
// the suite to a workload's Check and Run, and so to the stored cells:
// a run's record then says what it was allowed. The CLI adds them to the
// workloads that take them (GrantTaker), only when given; Resolve lets them
// through only for those workloads, and the suite-file parser refuses
// every reserved name (IsReserved).
type Grants struct {
	// AllowExec lets a job file run commands of its own.
	AllowExec bool
	// StoreProfile keeps a job file's text in the run's record, not only
	// its name and digest.
	StoreProfile bool
}

// Reserved parameters carry Grants; a suite file cannot set them.
const (
	ParamAllowExec    = "isobench.allow-exec"
	ParamStoreProfile = "isobench.store-profile"
)

// reservedPrefix starts every reserved parameter name.
const reservedPrefix = "isobench."

// IsReserved says whether a parameter name is reserved for the command
// line's grants.
func IsReserved(name string) bool { return strings.HasPrefix(name, reservedPrefix) }

// GrantTaker is implemented by workloads that read Grants from their
// parameters.
type GrantTaker interface {
	TakesGrants() bool
}

// Params returns the grants as reserved parameters: only those given, so
// that a run without grants has the very cells it had before grants
// existed.
func (g Grants) Params() map[string]string {
	out := map[string]string{}
	if g.AllowExec {
		out[ParamAllowExec] = "true"
	}
	if g.StoreProfile {
		out[ParamStoreProfile] = "true"
	}
	return out
}

// GrantsOf reads the grants back from resolved parameters.
func GrantsOf(params map[string]string) Grants {
	return Grants{AllowExec: params[ParamAllowExec] == "true", StoreProfile: params[ParamStoreProfile] == "true"}
}

// checkReserved says whether w may be given the reserved parameter k=v.
func checkReserved(w Workload, k, v string) error {
	if k != ParamAllowExec && k != ParamStoreProfile {
		return fmt.Errorf("workload %s: parameter %q: names starting %q are reserved for isobench", w.Name(), k, reservedPrefix)
	}
	if gt, ok := w.(GrantTaker); !ok || !gt.TakesGrants() {
		return fmt.Errorf("workload %s: parameter %q: this workload takes no such grant", w.Name(), k)
	}
	if v != "true" {
		return fmt.Errorf("workload %s: parameter %q: %q; a grant is given as true or not at all", w.Name(), k, v)
	}
	return nil
}
