package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/hostinfo"
	"github.com/isobench/isobench/internal/runner"
)

// Width is the width of the short form, in columns.
const Width = 100

// SchemaVersion is the version of the JSON document; fields are only ever
// added within a version.
const SchemaVersion = 1

// Report is everything doctor found: its --json document, and what the
// text forms render.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Host          Host      `json:"host"`
	Runtimes      []Runtime `json:"runtimes"`
	Tools         []Tool    `json:"tools"`
	// Working counts the runtimes that work, of Total probed.
	Working int `json:"working"`
	Total   int `json:"total"`
}

// Host are the host facts that decide what can run.
type Host struct {
	OS          string `json:"os"`
	Kernel      string `json:"kernel"`
	Arch        string `json:"arch"`
	CPUs        int    `json:"cpus"`
	MemoryBytes int64  `json:"memory_bytes"`
	Cgroup      string `json:"cgroup"`
	Virt        string `json:"virt"`
	Container   string `json:"container"`
	Root        bool   `json:"root"`
}

// Runtime is one runtime's row.
type Runtime struct {
	Name  string `json:"name"`
	Works bool   `json:"works"`
	// Status is "yes", "no" (it cannot run here: driver.ErrNotSupported)
	// or "error" (the probe failed otherwise).
	Status  string `json:"status"`
	Version string `json:"version"`
	// Reason is short: why it does not work (the first of the reasons),
	// or its key fact when it works.
	Reason string `json:"reason"`
	// More counts the reasons -v gives beyond Reason.
	More int `json:"more_reasons"`
	// Details is the whole text: every reason, or every fact and warning.
	Details   string            `json:"details"`
	Isolation string            `json:"isolation,omitempty"`
	Features  map[string]string `json:"features"`
	Warnings  []string          `json:"warnings"`
}

// Varianter is implemented by drivers with named variants worth probing one
// by one (gVisor's platforms).
type Varianter interface {
	Variants() []string
}

// Names returns every runtime doctor probes: the registered ones, then
// each driver's variants (probed as runtimes of their own).
func Names(reg *driver.Registry, denv driver.Env) []string {
	names := reg.Names()
	for _, n := range reg.Names() {
		d, err := reg.New(denv, n)
		if err != nil {
			continue
		}
		if v, ok := d.(Varianter); ok {
			for _, variant := range v.Variants() {
				names = append(names, n+":"+variant)
			}
		}
	}
	return names
}

// CaptureHost reads the host facts of the report; root says whether
// isobench runs as root.
func CaptureHost(ctx context.Context, root bool) Host {
	hi := hostinfo.Capture(ctx, hostinfo.Options{NoCommands: true})
	return Host{OS: hi.OS, Kernel: hi.Kernel, Arch: hi.Arch, CPUs: hi.CPUs, MemoryBytes: hi.MemoryBytes,
		Cgroup: hi.Cgroup, Virt: hi.Virt, Container: hi.Container, Root: root}
}

// NewReport makes the report of the probes (runner.ProbeAll), one row each, in the order of
// names (a probe not named comes last); it has no tools yet (see
// Report.AddTools).
func NewReport(host Host, names []string, probes []runner.Probe) Report {
	probes = slices.Clone(probes)
	slices.SortStableFunc(probes, func(a, b runner.Probe) int { return order(names, a.Name) - order(names, b.Name) })
	rep := Report{SchemaVersion: SchemaVersion, Host: host, Runtimes: []Runtime{}, Tools: []Tool{}}
	for _, p := range probes {
		rep.Runtimes = append(rep.Runtimes, runtimeRow(p))
	}
	rep.Total = len(rep.Runtimes)
	for _, r := range rep.Runtimes {
		if r.Works {
			rep.Working++
		}
	}
	return rep
}

// order is the place of n in names, or len(names).
func order(names []string, n string) int {
	if i := slices.Index(names, n); i >= 0 {
		return i
	}
	return len(names)
}

// runtimeRow turns one probe's result into its row: the whole text in
// Details, a short Reason.
func runtimeRow(p runner.Probe) Runtime {
	r := Runtime{Name: p.Name, Features: map[string]string{}, Warnings: []string{}}
	if p.Err != nil {
		r.Status = "no"
		if !errors.Is(p.Err, driver.ErrNotSupported) {
			r.Status = "error"
		}
		r.Details = flatten(p.Err.Error())
		parts := splitTop(strings.TrimPrefix(r.Details, p.Name+": "))
		r.Reason, r.More = parts[0], len(parts)-1
		return r
	}
	r.Works, r.Status = true, "yes"
	r.Version = flatten(p.Info.Version)
	r.Isolation = p.Info.Isolation
	for k, v := range p.Info.Features {
		r.Features[k] = flatten(v)
	}
	for _, wn := range p.Info.Warnings {
		r.Warnings = append(r.Warnings, flatten(wn))
	}
	var details []string
	if r.Isolation != "" {
		details = append(details, "isolation "+r.Isolation)
	}
	for _, k := range sortedKeys(r.Features) {
		details = append(details, k+" "+r.Features[k])
	}
	details = append(details, r.Warnings...)
	r.Details = strings.Join(details, "; ")
	r.Reason = keyFact(r)
	return r
}

// keyFacts are the features worth a place on a working runtime's short
// line, in order.
func keyFacts() []string { return []string{"accel", "platform", "daemon", "instance_types"} }

// keyFact is a working runtime's short line: its isolation, the features
// that change what its figures mean, and how many warnings -v shows.
func keyFact(r Runtime) string {
	var parts []string
	switch r.Isolation {
	case "":
	case "none":
		parts = append(parts, "the baseline, no isolation")
	default:
		parts = append(parts, r.Isolation)
	}
	for _, k := range keyFacts() {
		if v, ok := r.Features[k]; ok {
			v, _, _ = strings.Cut(v, " (")
			parts = append(parts, k+" "+v)
		}
	}
	s := strings.Join(parts, ", ")
	switch n := len(r.Warnings); n {
	case 0:
	case 1:
		s += "; 1 warning (-v)"
	default:
		s += fmt.Sprintf("; %d warnings (-v)", n)
	}
	return s
}

// splitTop splits s at the "; " that are outside parentheses and brackets.
func splitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[':
			depth++
		case ')', ']':
			if depth > 0 {
				depth--
			}
		case ';':
			if depth == 0 && i+1 < len(s) && s[i+1] == ' ' {
				parts = append(parts, s[start:i])
				start = i + 2
			}
		}
	}
	return append(parts, s[start:])
}
