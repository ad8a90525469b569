package apps

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

// computeScript is the project's own pure-Python compute script.
//
//go:embed compute.py
var computeScript string

// ComputeDigest is the SHA-256 of the compute script, recorded with every
// trial (python.script_sha256): figures of different scripts do not
// compare.
func ComputeDigest() string {
	sum := sha256.Sum256([]byte(computeScript))
	return hex.EncodeToString(sum[:])
}

// Kernels are the compute script's kernels, in the order it runs them.
var Kernels = []string{"nbody", "json", "regex", "dict_str"}

// pythonFlags are given to every python3 the workload runs: -I isolates it
// from the environment and the user's site directory, -B keeps it from
// writing bytecode (the image is read-only; it holds the host's caches).
var pythonFlags = []string{"-I", "-B"}

// startupImports is the module list of the second start-up figure.
const startupImports = "import json, re, decimal"

// Python is the python workload: CPython's start-up and the compute
// script's kernels, in the runner's sandbox.
type Python struct{}

var (
	_ workload.Workload       = Python{}
	_ workload.TrialTimeouter = Python{}
)

// Name implements workload.Workload.
func (Python) Name() string { return "python" }

// Doc implements workload.Workload.
func (Python) Doc() string {
	return "CPython 3 in the sandbox: start-up (median of python3 -c pass, and of a few imports) and the project's pure-Python kernels (n-body, JSON round trip, regex, dict/str), each timed"
}

// Params implements workload.Workload.
func (Python) Params() []workload.Param {
	return []workload.Param{
		{Name: "runs", Default: "30", Doc: "start-ups timed for each start-up figure (the trial keeps their median)", Profiles: map[string]string{"quick": "10"}},
		{Name: "scale", Default: "2", Doc: "the compute script's work, as a multiple of its base (1: about 0.3-0.5 s a kernel on a current CPU)", Profiles: map[string]string{"quick": "1"}},
	}
}

// Metrics implements workload.Workload.
func (Python) Metrics() []workload.Metric {
	m := []workload.Metric{
		{Name: "startup", Unit: workload.UnitSeconds, Label: "start-up (-c pass)", Headline: true},
		{Name: "startup_imports", Unit: workload.UnitSeconds, Label: "start-up (" + startupImports + ")", Headline: true},
	}
	for _, k := range Kernels {
		m = append(m, workload.Metric{Name: k, Unit: workload.UnitSeconds, Label: k + " kernel", Headline: true})
	}
	return m
}

type pythonConfig struct{ runs, scale int64 }

func parsePython(p map[string]string) (pythonConfig, error) {
	v, err := ints(p, intRange{"runs", 1, 10_000}, intRange{"scale", 1, 1000})
	if err != nil {
		return pythonConfig{}, err
	}
	return pythonConfig{runs: v["runs"], scale: v["scale"]}, nil
}

// Check implements workload.Workload.
func (Python) Check(info driver.Info, p map[string]string) error {
	if _, err := parsePython(p); err != nil {
		return err
	}
	return needPrograms(info.Name, "python3")
}

// TrialTimeout implements workload.TrialTimeouter: start-ups at up to 2 s
// each and the kernels at up to a minute each per unit of scale (slow
// software emulation), plus the sandbox's start.
func (Python) TrialTimeout(p map[string]string) time.Duration {
	c, err := parsePython(p)
	if err != nil {
		return 0
	}
	return time.Duration(2*c.runs+2)*2*time.Second + time.Duration(c.scale)*time.Duration(len(Kernels))*time.Minute + 5*time.Minute
}

// Run implements workload.Workload: one unmeasured start of each kind,
// then runs timed start-ups of each (interleaved), timed by the agent
// inside the sandbox, then the compute script, copied into the scratch
// directory.
func (Python) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) error {
	c, err := parsePython(t.Params)
	if err != nil {
		return err
	}
	rec.Attr("python.script_sha256", ComputeDigest())
	rec.Attr("python.flags", strings.Join(pythonFlags, " "))
	kinds := []struct{ metric, code string }{{"startup", "pass"}, {"startup_imports", startupImports}}
	pooled := workload.Pooled{}
	for i := int64(-1); i < c.runs; i++ {
		for _, k := range kinds {
			argv := append(append([]string{"python3"}, pythonFlags...), "-c", k.code)
			res, err := t.Run(ctx, agent.Request{Argv: argv, Dir: t.Scratch, Timeout: 2 * time.Minute})
			if err == nil {
				err = res.Err()
			}
			if err != nil {
				return fmt.Errorf("python: %s: %w%s", strings.Join(argv, " "), err, notInImage(res))
			}
			if i >= 0 {
				pooled.Add(k.metric, float64(res.WallNanos)/1e9)
			}
		}
	}
	for _, k := range kinds {
		rec.Sample(k.metric, median(pooled[k.metric]))
	}
	rec.Raw(workload.PooledRaw, pooled.Encode())

	script := path.Join(t.Scratch, "isobench-compute.py")
	if err := writeFile(ctx, t, script, computeScript); err != nil {
		return fmt.Errorf("python: %w", err)
	}
	argv := append(append([]string{"python3"}, pythonFlags...), script, strconv.FormatInt(c.scale, 10))
	res, err := t.Run(ctx, agent.Request{Argv: argv, Dir: t.Scratch, Timeout: time.Duration(c.scale)*time.Duration(len(Kernels))*time.Minute + time.Minute})
	rec.Raw("compute.jsonl", res.Stdout)
	if res.Stderr != "" {
		rec.Raw("compute.stderr", res.Stderr)
	}
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		return fmt.Errorf("python: the compute script: %w: %s", err, clip(res.Stderr, 1000))
	}
	out, err := ParseCompute(res.Stdout)
	if err != nil {
		return fmt.Errorf("python: %w", err)
	}
	rec.Attr("python.version", out.Version)
	for _, k := range Kernels {
		r := out.Kernels[k]
		rec.Sample(k, r.Seconds)
		rec.Attr("python.check."+k, r.Check)
	}
	return nil
}

// notInImage says, for a command that could not be started, that the
// image may lack python3.
func notInImage(res agent.Result) string {
	if res.Error != "" && res.ExitCode == -1 {
		return " (is python3 in the workload image? an image built on a host without python3, or an imported one, may lack it)"
	}
	return ""
}

// ComputeResult is what the compute script printed.
type ComputeResult struct {
	Version string
	Kernels map[string]KernelResult
}

// KernelResult is one kernel's line.
type KernelResult struct {
	Seconds float64
	Work    int64
	Check   string
}

// maxComputeOutput bounds the script's output ParseCompute reads.
const maxComputeOutput = 64 << 10

// ParseCompute reads the compute script's output: its header line, then
// exactly one line for each of Kernels, in that order, each with a
// finite positive time, a positive amount of work and a check. Anything
// else (a line more or less, an unknown field, an implausible figure) is
// an error saying which line.
func ParseCompute(text string) (ComputeResult, error) {
	r := ComputeResult{Kernels: map[string]KernelResult{}}
	if len(text) > maxComputeOutput {
		return r, fmt.Errorf("compute script output: %d bytes, more than %d", len(text), maxComputeOutput)
	}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) != 1+len(Kernels) {
		return r, fmt.Errorf("compute script output: %d lines, want %d (starts %q)", len(lines), 1+len(Kernels), clip(text, 200))
	}
	var head struct {
		Python         string `json:"python"`
		Implementation string `json:"implementation"`
	}
	if err := strictJSON(lines[0], &head); err != nil {
		return r, fmt.Errorf("compute script output: line 1: %w", err)
	}
	if head.Python == "" || len(head.Python) > 40 || head.Implementation == "" || len(head.Implementation) > 40 {
		return r, fmt.Errorf("compute script output: line 1: version %q of %q", clip(head.Python, 40), clip(head.Implementation, 40))
	}
	r.Version = agent.Printable(head.Implementation + " " + head.Python)
	for i, want := range Kernels {
		var k struct {
			Kernel  string   `json:"kernel"`
			Seconds *float64 `json:"seconds"`
			Work    int64    `json:"work"`
			Check   string   `json:"check"`
		}
		if err := strictJSON(lines[i+1], &k); err != nil {
			return r, fmt.Errorf("compute script output: line %d: %w", i+2, err)
		}
		switch {
		case k.Kernel != want:
			return r, fmt.Errorf("compute script output: line %d: kernel %q, want %q", i+2, clip(k.Kernel, 40), want)
		case k.Seconds == nil || math.IsNaN(*k.Seconds) || *k.Seconds <= 0 || *k.Seconds > 1e6:
			return r, fmt.Errorf("compute script output: kernel %s: no plausible time", want)
		case k.Work <= 0:
			return r, fmt.Errorf("compute script output: kernel %s: work %d", want, k.Work)
		case k.Check == "" || len(k.Check) > 100:
			return r, fmt.Errorf("compute script output: kernel %s: check %q", want, clip(k.Check, 100))
		}
		r.Kernels[want] = KernelResult{Seconds: *k.Seconds, Work: k.Work, Check: agent.Printable(k.Check)}
	}
	return r, nil
}

// strictJSON decodes one JSON object of line into v: no unknown field,
// nothing after it.
func strictJSON(line string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(line)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w (got %q)", err, clip(line, 100))
	}
	if dec.More() {
		return errors.New("text after the JSON object")
	}
	return nil
}

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
