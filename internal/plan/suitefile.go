package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	humanize "github.com/dustin/go-humanize"
	yaml "go.yaml.in/yaml/v3"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/inputfile"
	"github.com/isobench/isobench/internal/workload"
)

// Limits of suite files: beyond them a file is refused rather than
// expanded into a plan nobody could run.
const (
	// MaxSuiteFileSize bounds the bytes of a suite file.
	MaxSuiteFileSize = 1 << 20
	// maxSuiteNodes bounds the YAML nodes visited, aliases expanded.
	maxSuiteNodes = 100_000
	// maxSweep bounds the workload entries one sweep expands into. The
	// trials per cell, the trials of the whole suite and the trial time
	// limits are bounded by the plan's own limits (MaxTrials, MaxWarmups,
	// MaxSteps, MinTimeout, MaxTimeout), as for the flags.
	maxSweep = 1_000
	// maxProblems bounds the problems one load reports.
	maxProblems = 50
)

// SuiteFileVersion is the format version of suite files; a file may say
// "version: 1" and no other.
const SuiteFileVersion = 1

// SuiteError is one problem of a suite file, at a place in it.
type SuiteError struct {
	File   string
	Line   int // 1-based; 0 when the problem concerns the whole file
	Column int
	// Field is the path of the field in the file, e.g. "workloads[1].params.threads".
	Field string
	Msg   string
}

func (e *SuiteError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// SuiteErrors is every problem found in a suite file, in file order.
type SuiteErrors []*SuiteError

func (es SuiteErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Known is what a suite file is checked against. A nil field is not
// checked.
type Known struct {
	// Runtime checks a runtime reference ("runc", "runsc:ptrace").
	Runtime func(ref string) error
	// Workloads checks workload names and parameters: unknown parameters,
	// and values each workload's Check refuses (its driver.ErrNotSupported
	// answers are left to the run, which knows the runtimes).
	Workloads *workload.Registry
	// Profile, when set, replaces the file's profile (a --profile flag):
	// defaults and parameter checks then follow it.
	Profile string
	// Grants are what the command line allows (--allow-exec): parameters
	// are checked as the run will have them. A file cannot grant anything:
	// its reserved parameter names (workload.IsReserved) are refused, and
	// the grants are not written into the Suite, which the caller gives
	// them to (see workload.Grants).
	Grants workload.Grants
}

// LoadSuiteFile reads and checks the suite file at path (see ParseSuite).
// The path must name a regular file (see inputfile.Read): a FIFO, a device
// or a directory is refused at once, without blocking or reading from it.
// A file larger than MaxSuiteFileSize is a SuiteErrors naming the file and
// the limit.
func LoadSuiteFile(path string, known Known) (*Suite, error) {
	data, err := inputfile.Read(path, MaxSuiteFileSize)
	if err != nil {
		var tl *inputfile.TooLargeError
		if errors.As(err, &tl) {
			return nil, SuiteErrors{{File: path, Msg: fmt.Sprintf("the file is larger than %d bytes, the most a suite file may have", MaxSuiteFileSize)}}
		}
		return nil, fmt.Errorf("reading suite file: %w", err)
	}
	return ParseSuite(path, data, known)
}

// ParseSuite reads a suite from the YAML text of the file called name, and
// checks it strictly: an unknown field, a value of the wrong type or an
// impossible value is a SuiteError naming the file, the line and the field;
// all such problems are returned together as SuiteErrors. The format:
//
//	version: 1              # optional; the only version
//	profile: study          # quick (default) or study
//	trials: 10              # measured trials per cell (default: the profile's)
//	warmups: 1              # warm-up trials per cell (default: the profile's)
//	order: interleaved      # or blocks
//	seed: 42                # order seed (default: random, printed)
//	baseline: host          # the runtime others are compared against
//	timeout: 20m            # per-trial limit (default: each workload's)
//	scratch: rootfs         # for workloads with a scratch parameter
//	runtimes:               # default: every runtime that works here
//	  - host
//	  - runsc:ptrace        # NAME or NAME:VARIANT
//	  - name: runc          # or a mapping with sandbox options
//	    cpus: 2
//	    memory: 2GiB
//	  - name: runsc
//	    variants: [ptrace, systrap]   # one runtime per variant
//	workloads:
//	  - cpu                 # a name alone takes the defaults
//	  - name: cpu
//	    params:
//	      max-prime: 20000
//	      threads: [1, 2]   # a list sweeps: one workload per value
//	    timeout: 5m
//
// Warm-ups left out take the profile's, and Seed stays 0 (random) when the
// file gives none.
func ParseSuite(name string, data []byte, known Known) (s *Suite, err error) {
	p := &suiteParser{file: name, known: known}
	defer func() {
		// The YAML library is outside code reading outside text: whatever
		// it does, a bad file is an error, never a crash.
		if r := recover(); r != nil {
			s, err = nil, SuiteErrors{{File: name, Msg: fmt.Sprintf("cannot read the file as YAML: %v", r)}}
		}
	}()
	s = p.parse(data)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Column < b.Column
		})
		if len(p.errs) > maxProblems {
			more := len(p.errs) - maxProblems
			p.errs = append(p.errs[:maxProblems], &SuiteError{File: name, Msg: fmt.Sprintf("and %d more problems", more)})
		}
		return nil, p.errs
	}
	return s, nil
}

type suiteParser struct {
	file  string
	known Known
	errs  SuiteErrors
	nodes int
	// budgetSpent is set once the node budget ran out, so it is said once.
	budgetSpent bool
}

func (p *suiteParser) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &SuiteError{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

var allDigits = regexp.MustCompile(`^[-+]?[0-9]+$`)

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

func (p *suiteParser) parse(data []byte) *Suite {
	if len(data) > MaxSuiteFileSize {
		p.errorf(nil, "", "the file is larger than %d bytes", MaxSuiteFileSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(nil, "", "the file is empty: a suite names at least its workloads")
			return nil
		}
		msg := err.Error()
		e := &SuiteError{File: p.file, Msg: "not valid YAML: " + yamlLine.ReplaceAllString(msg, "")}
		if m := yamlLine.FindStringSubmatch(msg); m != nil && m[1] != "" {
			e.Line, _ = strconv.Atoi(m[1])
		}
		p.errs = append(p.errs, e)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(&extra, "", "a second YAML document: a suite file holds one")
	} else if !errors.Is(err, io.EOF) {
		p.errorf(nil, "", "after the first YAML document: %s", yamlLine.ReplaceAllString(err.Error(), ""))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			p.errorf(root, "", "the file is empty: a suite names at least its workloads")
			return nil
		}
		root = root.Content[0]
	}
	root = p.deref(root)
	if root == nil {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "", "want a mapping of suite fields (profile, runtimes, workloads, ...), got %s", kindName(root))
		return nil
	}
	return p.suite(root)
}

// deref follows aliases and counts the node against the budget; it returns
// nil when the budget is spent.
func (p *suiteParser) deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		use := n
		for depth := 0; n != nil && n.Kind == yaml.AliasNode; depth++ {
			if depth > 100 {
				p.errorf(use, "", "aliases nest too deep")
				return nil
			}
			n = n.Alias
		}
		if n == nil {
			p.errorf(use, "", "alias *%s names no anchor", use.Value)
			return nil
		}
		// Problems of the copied value are reported where it is used.
		c := *n
		c.Line, c.Column = use.Line, use.Column
		n = &c
	}
	p.nodes++
	if p.nodes > maxSuiteNodes {
		if !p.budgetSpent {
			p.budgetSpent = true
			p.errorf(n, "", "the file expands to more than %d YAML nodes (aliases included)", maxSuiteNodes)
		}
		return nil
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", clipText(n.Value, 40))
	case yaml.DocumentNode:
		return "a document"
	}
	return "an alias"
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// field is one key of a mapping with its value.
type field struct {
	key   string
	knode *yaml.Node
	val   *yaml.Node
}

// fields returns the keys of mapping n in order, reporting duplicate and
// unknown keys (known lists the allowed ones) under path.
func (p *suiteParser) fields(n *yaml.Node, path string, known []string) []field {
	var out []field
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := p.deref(n.Content[i])
		v := p.deref(n.Content[i+1])
		if k == nil || v == nil {
			return out
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			p.errorf(k, path, "a key must be a plain name, got %s", kindName(k))
			continue
		}
		if k.Value == "<<" {
			p.errorf(k, path, "merge keys (<<) are not taken: write the fields out")
			continue
		}
		fp := joinPath(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			p.errorf(k, fp, "given twice (first on line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		if known != nil && !containsStr(known, k.Value) {
			p.errorf(k, fp, "unknown field (known here: %s)", strings.Join(known, ", "))
			continue
		}
		out = append(out, field{key: k.Value, knode: k, val: v})
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// scalar returns the text of a scalar node, or reports what it is instead.
func (p *suiteParser) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errorf(n, path, "want %s, got %s", want, kindName(n))
		return "", false
	}
	return n.Value, true
}

// str returns a non-empty string.
func (p *suiteParser) str(n *yaml.Node, path, want string) (string, bool) {
	v, ok := p.scalar(n, path, want)
	if !ok {
		return "", false
	}
	if n.ShortTag() != "!!str" {
		p.errorf(n, path, "want %s, got %s %q", want, strings.TrimPrefix(n.ShortTag(), "!!"), clipText(v, 40))
		return "", false
	}
	if strings.TrimSpace(v) == "" {
		p.errorf(n, path, "want %s, got an empty string", want)
		return "", false
	}
	return v, true
}

// integer returns an integer in [lo, hi].
func (p *suiteParser) integer(n *yaml.Node, path string, lo, hi int64) (int64, bool) {
	want := "an integer"
	v, ok := p.scalar(n, path, want)
	if !ok {
		return 0, false
	}
	var x int64
	if n.ShortTag() != "!!int" || n.Decode(&x) != nil {
		if allDigits.MatchString(v) {
			p.errorf(n, path, "%s is out of range: want %d to %d", clipText(v, 40), lo, hi)
		} else {
			p.errorf(n, path, "want an integer, got %q", clipText(v, 40))
		}
		return 0, false
	}
	if x < lo || x > hi {
		p.errorf(n, path, "%d is out of range: want %d to %d", x, lo, hi)
		return 0, false
	}
	return x, true
}

// duration returns a time limit from MinTimeout to MaxTimeout.
func (p *suiteParser) duration(n *yaml.Node, path string) (time.Duration, bool) {
	v, ok := p.scalar(n, path, "a duration such as 90s, 10m or 1h30m")
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.errorf(n, path, "%q is not a duration: want a number with a unit, such as 90s, 10m or 1h30m", clipText(v, 40))
		return 0, false
	}
	switch {
	case d < MinTimeout:
		p.errorf(n, path, "%s is shorter than the minimum %s", d, MinTimeout)
		return 0, false
	case d > MaxTimeout:
		p.errorf(n, path, "%s is longer than the maximum %s", d, MaxTimeout)
		return 0, false
	}
	return d, true
}

// list returns the items of a sequence node.
func (p *suiteParser) list(n *yaml.Node, path, want string) ([]*yaml.Node, bool) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "want a list of %s, got %s", want, kindName(n))
		return nil, false
	}
	var out []*yaml.Node
	for _, c := range n.Content {
		c = p.deref(c)
		if c == nil {
			return out, false
		}
		out = append(out, c)
	}
	return out, true
}

var suiteFields = []string{"version", "profile", "trials", "warmups", "order", "seed", "baseline", "timeout", "scratch", "runtimes", "workloads"}

func (p *suiteParser) suite(root *yaml.Node) *Suite {
	s := &Suite{Profile: ProfileQuick, Order: OrderInterleaved, Baseline: "host", Warmups: -1}
	var runtimesNode, workloadsNode, baselineNode *yaml.Node
	scratch := ""
	var scratchNode *yaml.Node
	for _, f := range p.fields(root, "", suiteFields) {
		switch f.key {
		case "version":
			if v, ok := p.integer(f.val, f.key, math.MinInt64, math.MaxInt64); ok && v != SuiteFileVersion {
				p.errorf(f.val, f.key, "version %d is not known: this isobench reads version %d", v, SuiteFileVersion)
			}
		case "profile":
			if v, ok := p.str(f.val, f.key, "a profile name"); ok {
				if _, err := LookupProfile(v); err != nil {
					p.errorf(f.val, f.key, "%v", err)
				} else {
					s.Profile = v
				}
			}
		case "trials":
			if v, ok := p.integer(f.val, f.key, 1, MaxTrials); ok {
				s.Trials = int(v)
			}
		case "warmups":
			if v, ok := p.integer(f.val, f.key, 0, MaxWarmups); ok {
				s.Warmups = int(v)
			}
		case "order":
			if v, ok := p.str(f.val, f.key, "an order"); ok {
				if v != OrderInterleaved && v != OrderBlocks {
					p.errorf(f.val, f.key, "%q: want %s or %s", v, OrderInterleaved, OrderBlocks)
				} else {
					s.Order = v
				}
			}
		case "seed":
			if v, ok := p.integer(f.val, f.key, math.MinInt64, math.MaxInt64); ok {
				if v == 0 {
					p.errorf(f.val, f.key, "0 is not a seed: leave the field out for a random seed")
				}
				s.Seed = v
			}
		case "baseline":
			if v, ok := p.str(f.val, f.key, "a runtime name"); ok {
				s.Baseline, baselineNode = v, f.val
			}
		case "timeout":
			if d, ok := p.duration(f.val, f.key); ok {
				s.Timeout = d
			}
		case "scratch":
			if v, ok := p.str(f.val, f.key, "a scratch kind"); ok {
				switch v {
				case driver.ScratchRootfs, driver.ScratchVolume, driver.ScratchTmpfs:
					scratch, scratchNode = v, f.val
				default:
					p.errorf(f.val, f.key, "%q: want %s, %s or %s", v, driver.ScratchRootfs, driver.ScratchVolume, driver.ScratchTmpfs)
				}
			}
		case "runtimes":
			runtimesNode = f.val
		case "workloads":
			workloadsNode = f.val
		}
	}
	if p.known.Profile != "" {
		if _, err := LookupProfile(p.known.Profile); err != nil {
			p.errorf(nil, "profile", "%v", err)
		} else {
			s.Profile = p.known.Profile
		}
	}
	if s.Warmups < 0 {
		prof, _ := LookupProfile(s.Profile)
		s.Warmups = prof.Warmups
	}
	if runtimesNode != nil {
		p.runtimes(runtimesNode, s)
		if baselineNode != nil && len(s.Runtimes) > 0 && !containsStr(s.Runtimes, s.Baseline) {
			p.errorf(baselineNode, "baseline", "%q is not among the runtimes (%s)", s.Baseline, strings.Join(s.Runtimes, ", "))
		}
	} else if baselineNode != nil && p.known.Runtime != nil {
		if err := p.known.Runtime(s.Baseline); err != nil {
			p.errorf(baselineNode, "baseline", "%v", err)
		}
	}
	if workloadsNode == nil {
		p.errorf(root, "workloads", "missing: a suite names at least one workload")
		return s
	}
	p.workloads(workloadsNode, s, scratch, scratchNode)
	if len(p.errs) == 0 {
		trials := s.Trials
		if trials == 0 {
			prof, _ := LookupProfile(s.Profile)
			trials = prof.Trials
		}
		rts := max(len(s.Runtimes), 1)
		if steps := int64(len(s.Workloads)) * int64(rts) * int64(trials+s.Warmups); steps > MaxSteps {
			p.errorf(root, "", "the suite makes %d trials, more than the %d one run may have", steps, MaxSteps)
		}
	}
	return s
}

var runtimeFields = []string{"name", "variants", "cpus", "memory"}

func (p *suiteParser) runtimes(n *yaml.Node, s *Suite) {
	items, ok := p.list(n, "runtimes", "runtime names")
	if !ok {
		return
	}
	if len(items) == 0 {
		p.errorf(n, "runtimes", "the list is empty: leave the field out to use every runtime that works here")
		return
	}
	where := map[string]int{}
	add := func(ref string, node *yaml.Node, path string, opt RuntimeOptions) {
		if line, dup := where[ref]; dup {
			p.errorf(node, path, "runtime %q is listed twice (first on line %d)", ref, line)
			return
		}
		if p.known.Runtime != nil {
			if err := p.known.Runtime(ref); err != nil {
				p.errorf(node, path, "%v", err)
				return
			}
		}
		where[ref] = node.Line
		s.Runtimes = append(s.Runtimes, ref)
		if opt != (RuntimeOptions{}) {
			if s.Options == nil {
				s.Options = map[string]RuntimeOptions{}
			}
			s.Options[ref] = opt
		}
	}
	for i, it := range items {
		path := fmt.Sprintf("runtimes[%d]", i)
		if it.Kind == yaml.ScalarNode {
			if ref, ok := p.str(it, path, "a runtime name"); ok {
				add(ref, it, path, RuntimeOptions{})
			}
			continue
		}
		if it.Kind != yaml.MappingNode {
			p.errorf(it, path, "want a runtime name or a mapping with name, variants, cpus, memory; got %s", kindName(it))
			continue
		}
		var name string
		var nameNode, variantsNode *yaml.Node
		var opt RuntimeOptions
		for _, f := range p.fields(it, path, runtimeFields) {
			fp := joinPath(path, f.key)
			switch f.key {
			case "name":
				if v, ok := p.str(f.val, fp, "a runtime name"); ok {
					name, nameNode = v, f.val
				}
			case "variants":
				variantsNode = f.val
			case "cpus":
				if v, ok := p.integer(f.val, fp, 1, 4096); ok {
					opt.CPUs = int(v)
				}
			case "memory":
				if v, ok := p.memory(f.val, fp); ok {
					opt.MemoryBytes = v
				}
			}
		}
		if nameNode == nil {
			if len(p.errs) == 0 || !hasErrorAt(p.errs, it.Line) {
				p.errorf(it, joinPath(path, "name"), "missing: say which runtime, e.g. name: runc")
			}
			continue
		}
		if variantsNode == nil {
			add(name, nameNode, joinPath(path, "name"), opt)
			continue
		}
		if strings.Contains(name, ":") {
			p.errorf(nameNode, joinPath(path, "name"), "%q already names a variant; with variants give the runtime alone", name)
			continue
		}
		vs, ok := p.list(variantsNode, joinPath(path, "variants"), "variant names")
		if !ok {
			continue
		}
		if len(vs) == 0 {
			p.errorf(variantsNode, joinPath(path, "variants"), "the list is empty: leave it out for the runtime's default")
			continue
		}
		for j, v := range vs {
			vp := fmt.Sprintf("%s.variants[%d]", path, j)
			if variant, ok := p.str(v, vp, "a variant name"); ok {
				add(name+":"+variant, v, vp, opt)
			}
		}
	}
}

func hasErrorAt(es SuiteErrors, line int) bool {
	for _, e := range es {
		if e.Line == line {
			return true
		}
	}
	return false
}

// memory reads a size in bytes: an integer, or a number with a unit such
// as 512MiB or 2GiB.
func (p *suiteParser) memory(n *yaml.Node, path string) (int64, bool) {
	v, ok := p.scalar(n, path, "a size such as 512MiB or 2GiB")
	if !ok {
		return 0, false
	}
	b, err := humanize.ParseBytes(v)
	if err != nil {
		p.errorf(n, path, "%q is not a size: want bytes or a number with a unit, such as 512MiB or 2GiB", clipText(v, 40))
		return 0, false
	}
	const lo, hi = 4 << 20, 1 << 50
	if b < lo || b > hi {
		p.errorf(n, path, "%s is out of range: want %s to %s", humanize.IBytes(b), humanize.IBytes(lo), humanize.IBytes(hi))
		return 0, false
	}
	return int64(b), true
}

var workloadFields = []string{"name", "params", "timeout"}

// param is one parameter value given in the file, with where it was.
type param struct {
	name string
	key  *yaml.Node
	vals []string
	at   []*yaml.Node
}

func (p *suiteParser) workloads(n *yaml.Node, s *Suite, scratch string, scratchNode *yaml.Node) {
	items, ok := p.list(n, "workloads", "workloads")
	if !ok {
		return
	}
	if len(items) == 0 {
		p.errorf(n, "workloads", "the list is empty: a suite names at least one workload")
		return
	}
	scratchUsed := false
	where := map[string]string{}
	for i, it := range items {
		path := fmt.Sprintf("workloads[%d]", i)
		var name string
		var nameNode, paramsNode *yaml.Node
		var timeout time.Duration
		switch it.Kind {
		case yaml.ScalarNode:
			v, ok := p.str(it, path, "a workload name")
			if !ok {
				continue
			}
			name, nameNode = v, it
		case yaml.MappingNode:
			for _, f := range p.fields(it, path, workloadFields) {
				fp := joinPath(path, f.key)
				switch f.key {
				case "name":
					if v, ok := p.str(f.val, fp, "a workload name"); ok {
						name, nameNode = v, f.val
					}
				case "params":
					paramsNode = f.val
				case "timeout":
					if d, ok := p.duration(f.val, fp); ok {
						timeout = d
					}
				}
			}
			if nameNode == nil {
				if !hasErrorAt(p.errs, it.Line) {
					p.errorf(it, joinPath(path, "name"), "missing: say which workload, e.g. name: cpu")
				}
				continue
			}
		default:
			p.errorf(it, path, "want a workload name or a mapping with name, params, timeout; got %s", kindName(it))
			continue
		}
		namePath := path
		if it.Kind == yaml.MappingNode {
			namePath = joinPath(path, "name")
		}
		var w workload.Workload
		if p.known.Workloads != nil {
			var err error
			if w, err = p.known.Workloads.Get(name); err != nil {
				p.errorf(nameNode, namePath, "%v", err)
				continue
			}
		}
		params := p.params(paramsNode, joinPath(path, "params"))
		if params == nil {
			continue
		}
		if scratch != "" && w != nil && hasParam(w, "scratch") {
			scratchUsed = true
			if !hasGiven(params, "scratch") {
				params = append(params, param{name: "scratch", key: scratchNode, vals: []string{scratch}, at: []*yaml.Node{scratchNode}})
			}
		}
		sets, ok := p.sweep(params, paramsNode, joinPath(path, "params"))
		if !ok {
			continue
		}
		for _, set := range sets {
			if w != nil && !p.checkParams(w, s.Profile, set, params, nameNode, namePath, paramsNode, joinPath(path, "params")) {
				break
			}
			wc := WorkloadConfig{Name: name, Set: set.values, Timeout: timeout}
			key := name + paramKey(set.values, w, s.Profile)
			if first, dup := where[key]; dup {
				p.errorf(nameNode, namePath, "repeats %s: the same workload with the same parameters", first)
				break
			}
			where[key] = path
			s.Workloads = append(s.Workloads, wc)
		}
	}
	if scratchNode != nil && !scratchUsed && p.known.Workloads != nil && len(p.errs) == 0 {
		p.errorf(scratchNode, "scratch", "no workload of the suite has a scratch parameter")
	}
}

func hasParam(w workload.Workload, name string) bool {
	for _, p := range w.Params() {
		if p.Name == name {
			return true
		}
	}
	return false
}

func hasGiven(ps []param, name string) bool {
	for _, p := range ps {
		if p.name == name {
			return true
		}
	}
	return false
}

// paramKey is a text form of the full parameters, so that two entries
// that come to the same thing are found out.
func paramKey(set map[string]string, w workload.Workload, profile string) string {
	full := set
	if w != nil {
		if r, err := workload.Resolve(w, profile, set); err == nil {
			full = r
		}
	}
	keys := make([]string, 0, len(full))
	for k := range full {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, ";%s=%s", k, full[k])
	}
	return b.String()
}

// params reads a params mapping; nil means it had problems.
func (p *suiteParser) params(n *yaml.Node, path string) []param {
	if n == nil {
		return []param{}
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "want a mapping of parameter names to values, got %s", kindName(n))
		return nil
	}
	out := []param{}
	bad := false
	for _, f := range p.fields(n, path, nil) {
		fp := joinPath(path, f.key)
		if workload.IsReserved(f.key) {
			p.errorf(f.knode, fp, "the name is reserved: what it allows only the command line grants (isobench run --allow-exec, --store-profile), never a suite file")
			bad = true
			continue
		}
		pr := param{name: f.key, key: f.knode}
		switch f.val.Kind {
		case yaml.SequenceNode:
			items, ok := p.list(f.val, fp, "values")
			if !ok {
				bad = true
				continue
			}
			if len(items) == 0 {
				p.errorf(f.val, fp, "the list of values is empty")
				bad = true
				continue
			}
			seen := map[string]bool{}
			for j, it := range items {
				v, ok := p.scalar(it, fmt.Sprintf("%s[%d]", fp, j), "a plain value")
				if !ok {
					// One such report per list says enough.
					bad = true
					break
				}
				if seen[v] {
					p.errorf(it, fmt.Sprintf("%s[%d]", fp, j), "value %q is listed twice", clipText(v, 40))
					bad = true
					continue
				}
				seen[v] = true
				pr.vals = append(pr.vals, v)
				pr.at = append(pr.at, it)
			}
		default:
			v, ok := p.scalar(f.val, fp, "a value or a list of values")
			if !ok {
				bad = true
				continue
			}
			pr.vals, pr.at = []string{v}, []*yaml.Node{f.val}
		}
		out = append(out, pr)
	}
	if bad {
		return nil
	}
	return out
}

// paramSet is one combination of parameter values, with where each came
// from.
type paramSet struct {
	values map[string]string
	at     map[string]*yaml.Node
}

// sweep expands list-valued parameters into every combination, in the
// order the file lists the values.
func (p *suiteParser) sweep(params []param, n *yaml.Node, path string) ([]paramSet, bool) {
	total := 1
	for _, pr := range params {
		total *= len(pr.vals)
		if total > maxSweep {
			p.errorf(n, path, "the lists of values make more than %d combinations", maxSweep)
			return nil, false
		}
	}
	sets := []paramSet{{values: map[string]string{}, at: map[string]*yaml.Node{}}}
	for _, pr := range params {
		var next []paramSet
		for _, s := range sets {
			for i, v := range pr.vals {
				c := paramSet{values: map[string]string{}, at: map[string]*yaml.Node{}}
				for k, x := range s.values {
					c.values[k], c.at[k] = x, s.at[k]
				}
				c.values[pr.name], c.at[pr.name] = v, pr.at[i]
				next = append(next, c)
			}
		}
		sets = next
	}
	if len(params) == 0 {
		sets[0].values = nil
	}
	return sets, true
}

// checkParams checks one set of parameters against the workload: unknown
// names, then the workload's own Check. A value Check refuses is pinned on
// the parameter whose value alone makes it refuse; a refused combination
// on the params mapping.
func (p *suiteParser) checkParams(w workload.Workload, profile string, set paramSet, given []param, nameNode *yaml.Node, namePath string, paramsNode *yaml.Node, path string) bool {
	for _, pr := range given {
		if hasParam(w, pr.name) {
			continue
		}
		var names []string
		for _, x := range w.Params() {
			names = append(names, x.Name)
		}
		p.errorf(pr.key, joinPath(path, pr.name), "workload %s has no such parameter (it has: %s)", w.Name(), strings.Join(names, ", "))
		return false
	}
	full, err := workload.Resolve(w, profile, set.values)
	if err != nil {
		p.errorf(nameNode, namePath, "%v", err)
		return false
	}
	p.grant(w, full)
	err = check(w, full)
	if err == nil {
		return true
	}
	// Which value is to blame: the first that fails alone, on the defaults.
	keys := make([]string, 0, len(set.values))
	for k := range set.values {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return set.at[keys[i]].Line < set.at[keys[j]].Line })
	for _, k := range keys {
		one, rerr := workload.Resolve(w, profile, map[string]string{k: set.values[k]})
		if rerr != nil {
			continue
		}
		p.grant(w, one)
		if cerr := check(w, one); cerr != nil {
			p.errorf(set.at[k], joinPath(path, k), "%v", cerr)
			return false
		}
	}
	at, ap := paramsNode, path
	if at == nil {
		at, ap = nameNode, namePath
	}
	p.errorf(at, ap, "%v", err)
	return false
}

// grant adds the command line's grants to resolved parameters of a
// workload that takes them, as the run will.
func (p *suiteParser) grant(w workload.Workload, params map[string]string) {
	if gt, ok := w.(workload.GrantTaker); ok && gt.TakesGrants() {
		for k, v := range p.known.Grants.Params() {
			params[k] = v
		}
	}
}

// check runs the workload's Check on parameters alone, on each cell's
// parameters where the workload sweeps a list (see Sweeper): answers that
// depend on the runtime (driver.ErrNotSupported) are left to the run.
func check(w workload.Workload, params map[string]string) error {
	sets, err := sweep(w, params)
	if err != nil {
		return err
	}
	for _, set := range sets {
		err := w.Check(driver.Info{}, set)
		if err != nil && !errors.Is(err, driver.ErrNotSupported) {
			return err
		}
	}
	return nil
}
