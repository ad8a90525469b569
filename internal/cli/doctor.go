package cli

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/hostinfo"
	"github.com/isobench/isobench/internal/image"
)

// Varianter is implemented by drivers with named variants worth probing one
// by one (gVisor's platforms).
type Varianter interface {
	Variants() []string
}

func (a *app) doctorCommand() *cobra.Command {
	var (
		agentFlag string
		verbose   bool
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "doctor [RUNTIME]",
		Short: "Say which runtimes work here, and exactly why the others do not",
		Long: `Try every runtime isobench knows, by starting a tiny sandbox, and print one
line per runtime: whether it works here, its version, and the reason when it
does not (or a key fact when it does), in at most 100 columns. Then check the
workload tools, the agent, KVM and the guest kernel.

-v gives every detail of every runtime (features, warnings, the whole
reason); doctor RUNTIME probes that runtime alone and gives all of it.
--json gives everything for scripts: {"schema_version", "host",
"runtimes": [{"name", "works", "status", "version", "reason", "details",
"isolation", "features", "warnings"}], "tools": [{"name", "found",
"details", "runtimes_failing"}], "working", "total"}.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := doctorOptions{agent: agentFlag, verbose: verbose, json: asJSON}
			if len(args) == 1 {
				o.only = args[0]
			}
			return a.doctor(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().StringVar(&agentFlag, "agent", "", "path of the static isobench-agent binary (default: beside isobench)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "every detail of every runtime, not one line each")
	cmd.Flags().BoolVar(&asJSON, "json", false, "everything as one JSON document, for scripts")
	return cmd
}

// doctorOptions are doctor's flags and argument.
type doctorOptions struct {
	agent   string
	verbose bool
	json    bool
	only    string // one runtime's name, "" for all
}

// doctorWidth is the width of doctor's short form, in columns.
const doctorWidth = 100

// doctorSchemaVersion is the version of doctor's JSON document; fields
// are only ever added within a version.
const doctorSchemaVersion = 1

// doctorReport is everything doctor found: its --json document, and what
// the text forms render.
type doctorReport struct {
	SchemaVersion int             `json:"schema_version"`
	Host          doctorHost      `json:"host"`
	Runtimes      []doctorRuntime `json:"runtimes"`
	Tools         []doctorTool    `json:"tools"`
	// Working counts the runtimes that work, of Total probed.
	Working int `json:"working"`
	Total   int `json:"total"`
}

// doctorHost are the host facts that decide what can run.
type doctorHost struct {
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

// doctorRuntime is one runtime's row.
type doctorRuntime struct {
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

// doctorTool is one row of the tools table.
type doctorTool struct {
	Name    string `json:"name"`
	Found   bool   `json:"found"`
	Details string `json:"details"`
	// RuntimesFailing names the runtimes that use the tool and do not
	// work here, so that a tool found is never read as "so they work".
	RuntimesFailing []string `json:"runtimes_failing"`
	uses            []string // runtimes that need the tool
}

// doctorNames returns every runtime doctor probes: the registered ones,
// then each driver's variants (probed as runtimes of their own).
func doctorNames(reg *driver.Registry, denv driver.Env) []string {
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

func (a *app) doctor(ctx context.Context, w io.Writer, o doctorOptions) error {
	reg := builtin.Drivers()
	if o.only != "" {
		base, _, _ := strings.Cut(o.only, ":")
		if !slices.Contains(reg.Names(), base) {
			return withStatus(ExitUsage, fmt.Errorf("doctor: unknown runtime %q (known: %s)", o.only, strings.Join(reg.Names(), ", ")))
		}
	}
	denv, err := a.driverEnv()
	if err != nil {
		return err
	}
	names := doctorNames(reg, denv)
	if o.only != "" {
		if !slices.Contains(names, o.only) {
			return withStatus(ExitUsage, fmt.Errorf("doctor: unknown runtime %q (known: %s)", o.only, strings.Join(names, ", ")))
		}
		names = []string{o.only}
	}
	results := probeAll(ctx, reg, denv, names, 60*time.Second)
	defer closeDrivers(results, w)
	sort.SliceStable(results, func(i, j int) bool { return order(names, results[i].name) < order(names, results[j].name) })

	rep := doctorReport{SchemaVersion: doctorSchemaVersion, Host: a.doctorHost(ctx), Runtimes: []doctorRuntime{}, Tools: []doctorTool{}}
	for _, p := range results {
		rep.Runtimes = append(rep.Runtimes, runtimeRow(p))
	}
	rep.Total = len(rep.Runtimes)
	for _, r := range rep.Runtimes {
		if r.Works {
			rep.Working++
		}
	}
	if o.only == "" {
		rep.Tools = a.doctorTools(ctx, denv, o.agent, names)
		linkTools(rep.Tools, rep.Runtimes)
	}
	switch {
	case o.json:
		return writeDoctorJSON(w, rep)
	case o.verbose || o.only != "":
		return writeDoctorLong(w, rep)
	}
	return writeDoctorShort(w, rep, doctorWidth)
}

// doctorHost reads the host facts of the report.
func (a *app) doctorHost(ctx context.Context) doctorHost {
	hi := hostinfo.Capture(ctx, hostinfo.Options{NoCommands: true})
	return doctorHost{OS: hi.OS, Kernel: hi.Kernel, Arch: hi.Arch, CPUs: hi.CPUs, MemoryBytes: hi.MemoryBytes,
		Cgroup: hi.Cgroup, Virt: hi.Virt, Container: hi.Container, Root: a.env.UID == 0}
}

// runtimeRow turns one probe's result into its row: the whole text in
// Details, a short Reason.
func runtimeRow(p probed) doctorRuntime {
	r := doctorRuntime{Name: p.name, Features: map[string]string{}, Warnings: []string{}}
	if p.err != nil {
		r.Status = "no"
		if !errors.Is(p.err, driver.ErrNotSupported) {
			r.Status = "error"
		}
		r.Details = flatten(p.err.Error())
		parts := splitTop(strings.TrimPrefix(r.Details, p.name+": "))
		r.Reason, r.More = parts[0], len(parts)-1
		return r
	}
	r.Works, r.Status = true, "yes"
	r.Version = flatten(p.info.Version)
	r.Isolation = p.info.Isolation
	for k, v := range p.info.Features {
		r.Features[k] = flatten(v)
	}
	for _, wn := range p.info.Warnings {
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
var keyFacts = []string{"accel", "platform", "daemon", "instance_types"}

// keyFact is a working runtime's short line: its isolation, the features
// that change what its figures mean, and how many warnings -v shows.
func keyFact(r doctorRuntime) string {
	var parts []string
	switch r.Isolation {
	case "":
	case "none":
		parts = append(parts, "the baseline, no isolation")
	default:
		parts = append(parts, r.Isolation)
	}
	for _, k := range keyFacts {
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

// shortVersion is the version number in a version string ("Linux 6.1.0"
// gives 6.1.0), for the short form.
func shortVersion(v string) string {
	if v == "" {
		return "-"
	}
	f := strings.Fields(v)
	for _, w := range f {
		w = strings.TrimRight(w, ",;")
		if w != "" && (w[0] >= '0' && w[0] <= '9' || len(w) > 1 && w[0] == 'v' && w[1] >= '0' && w[1] <= '9') {
			return clip(w, 20)
		}
	}
	return clip(f[0], 20)
}

// doctorTools checks the workload tools, the agent, root, KVM and the
// guest kernel; names are the runtimes probed, for what each tool serves.
func (a *app) doctorTools(ctx context.Context, denv driver.Env, agentFlag string, names []string) []doctorTool {
	var tools []doctorTool
	add := func(name string, found bool, details string, uses []string) {
		tools = append(tools, doctorTool{Name: name, Found: found, Details: details, RuntimesFailing: []string{}, uses: uses})
	}
	for _, t := range []struct{ name, why string }{
		{"sysbench", "cpu, memory and fileio workloads"},
		{"fio", "fio workload"},
	} {
		if p, err := exec.LookPath(t.name); err == nil {
			add(t.name, true, fmt.Sprintf("%s (%s)", p, t.why), nil)
		} else {
			add(t.name, false, fmt.Sprintf("not in PATH: isobench setup installs it (%s)", t.why), nil)
		}
	}
	found, d := staticCheck("/bin/busybox", "isobench setup installs busybox-static")
	// busybox and the agent serve every runtime: a runtime that fails
	// for want of them says so in its own reason.
	add("busybox", found, d, nil)
	if p, err := a.agentPath(agentFlag); err != nil {
		add("isobench-agent", false, err.Error(), nil)
	} else {
		found, d := staticCheck(p, "rebuild it with CGO_ENABLED=0")
		add("isobench-agent", found, d, nil)
	}
	if a.env.UID != 0 {
		add("root", false, "most runtimes need root: run isobench as root", nil)
	}
	vms := vmRuntimes(names)
	for _, row := range vmDoctorRows(ctx, denv) {
		f := strings.SplitN(row, "\t", 3)
		for len(f) < 3 {
			f = append(f, "")
		}
		add(f[0], f[1] == "yes", f[2], vms)
	}
	return tools
}

// vmRuntimes are the runtimes among names that boot guest kernels, whose
// tools are KVM and the guest kernel.
func vmRuntimes(names []string) []string {
	var out []string
	for _, n := range names {
		base, _, _ := strings.Cut(n, ":")
		switch base {
		case image.VMMQemuMicrovm, image.VMMQemuVM, image.VMMFirecracker, image.VMMCloudHypervisor:
			out = append(out, n)
		}
	}
	return out
}

// linkTools makes the tools table agree with the runtime rows: a tool
// found names the runtimes it serves that do not work here, so that
// "found" is never read as "so they work".
func linkTools(tools []doctorTool, rts []doctorRuntime) {
	works := map[string]bool{}
	for _, r := range rts {
		works[r.Name] = r.Works
	}
	for i := range tools {
		t := &tools[i]
		if t.RuntimesFailing == nil {
			t.RuntimesFailing = []string{} // [] in JSON, never null
		}
		if !t.Found {
			continue
		}
		for _, u := range t.uses {
			if ok, probed := works[u]; probed && !ok {
				t.RuntimesFailing = append(t.RuntimesFailing, u)
			}
		}
	}
}

// toolNote says, on a tool's line, which runtimes that use it do not work.
func toolNote(t doctorTool) string {
	if len(t.RuntimesFailing) == 0 {
		return ""
	}
	verb := "does"
	if len(t.RuntimesFailing) > 1 {
		verb = "do"
	}
	return fmt.Sprintf("but %s %s not work here (see above)", strings.Join(t.RuntimesFailing, ", "), verb)
}

// writeDoctorJSON writes the report as doctor --json does.
func writeDoctorJSON(w io.Writer, rep doctorReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// writeDoctorShort writes one line per runtime and per tool, none wider
// than width columns: a reason too long is cut with "…".
func writeDoctorShort(w io.Writer, rep doctorReport, width int) error {
	rows := [][]string{{"RUNTIME", "WORKS", "VERSION", "REASON OR KEY FACT"}}
	suffix := []string{""}
	for _, r := range rep.Runtimes {
		rows = append(rows, []string{r.Name, r.Status, shortVersion(r.Version), r.Reason})
		sfx := ""
		if r.More > 0 {
			sfx = fmt.Sprintf(" (+%d more, -v)", r.More)
		}
		suffix = append(suffix, sfx)
	}
	if err := writeFitted(w, rows, suffix, width); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d of %d runtimes work here; -v or doctor RUNTIME says more.\n", rep.Working, rep.Total)
	if len(rep.Tools) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	// A tool's note on the runtimes it serves that fail goes on a line of
	// its own under the details.
	rows = [][]string{{"TOOL", "FOUND", "DETAILS"}}
	for _, t := range rep.Tools {
		rows = append(rows, []string{t.Name, yesNo(t.Found), t.Details})
		if note := toolNote(t); note != "" {
			rows = append(rows, []string{"", "", note})
		}
	}
	return writeFitted(w, rows, make([]string, len(rows)), width)
}

// writeFitted writes rows as aligned columns, two spaces apart, and
// shortens the last column (see shorten), which suffix[i] then ends, so
// that no line is wider than width.
func writeFitted(w io.Writer, rows [][]string, suffix []string, width int) error {
	n := len(rows[0])
	widths := make([]int, n)
	for _, row := range rows {
		for i, c := range row[:n-1] {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	used := 0
	for _, x := range widths[:n-1] {
		used += x + 2
	}
	last := max(width-used, 10)
	var b strings.Builder
	for j, row := range rows {
		for i, c := range row[:n-1] {
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
		}
		sfx := clip(suffix[j], last/2)
		b.WriteString(shorten(row[n-1], last-utf8.RuneCountInString(sfx)))
		b.WriteString(sfx)
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeDoctorLong writes every detail: a block per runtime, its reasons
// or facts one a line, then the tools.
func writeDoctorLong(w io.Writer, rep doctorReport) error {
	var b strings.Builder
	for _, r := range rep.Runtimes {
		fmt.Fprintf(&b, "%s: %s", r.Name, r.Status)
		if r.Version != "" {
			fmt.Fprintf(&b, ", version %s", r.Version)
		}
		b.WriteByte('\n')
		if !r.Works {
			for _, p := range splitTop(strings.TrimPrefix(r.Details, r.Name+": ")) {
				fmt.Fprintf(&b, "  why: %s\n", p)
			}
			continue
		}
		if r.Isolation != "" {
			fmt.Fprintf(&b, "  isolation: %s\n", r.Isolation)
		}
		for _, k := range sortedKeys(r.Features) {
			fmt.Fprintf(&b, "  %s: %s\n", k, r.Features[k])
		}
		for _, wn := range r.Warnings {
			fmt.Fprintf(&b, "  warning: %s\n", wn)
		}
	}
	fmt.Fprintf(&b, "\n%d of %d runtimes work here.\n", rep.Working, rep.Total)
	if len(rep.Tools) > 0 {
		b.WriteByte('\n')
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TOOL\tFOUND\tDETAILS")
		for _, t := range rep.Tools {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, yesNo(t.Found), t.Details)
			if note := toolNote(t); note != "" {
				fmt.Fprintf(tw, "\t\t%s\n", note)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// staticCheck says whether path exists and is a static executable, and
// what was found.
func staticCheck(path, fix string) (bool, string) {
	f, err := elf.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, path + " not found: " + fix
		}
		return false, path + ": " + err.Error()
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, path + " is dynamically linked: " + fix
		}
	}
	return true, path + " (static)"
}

func order(names []string, n string) int {
	for i, x := range names {
		if x == n {
			return i
		}
	}
	return len(names)
}

// flatten puts s on one line: runs of white space become one space.
func flatten(s string) string { return strings.Join(strings.Fields(s), " ") }

// shorten fits s in n columns, keeping what says most: it first leaves
// out parenthesised asides, then the middle of an error chain ("doing x:
// … the cause"), and last cuts the end with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if t := dropAsides(s); t != s {
		if utf8.RuneCountInString(t) <= n {
			return t
		}
		s = t
	}
	if i, j := topIndex(s, ": ", false), topIndex(s, ": ", true); i >= 0 && j > i {
		s = s[:i] + ": … " + s[j+2:]
	}
	return clip(s, n)
}

// dropAsides removes the " (...)" groups outside any other.
func dropAsides(s string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '(' && depth == 0 && i > 0 && s[i-1] == ' ':
			depth = 1
			t := b.String()
			b.Reset()
			b.WriteString(strings.TrimSuffix(t, " "))
			continue
		case c == '(' && depth > 0:
			depth++
		case c == ')' && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	if depth != 0 {
		return s
	}
	return b.String()
}

// topIndex is the index of the first (or last) sep in s outside
// parentheses, or -1.
func topIndex(s, sep string, last bool) int {
	found, depth := -1, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[':
			depth++
		case ')', ']':
			if depth > 0 {
				depth--
			}
		default:
			if depth == 0 && strings.HasPrefix(s[i:], sep) {
				if !last {
					return i
				}
				found = i
			}
		}
	}
	return found
}

// clip cuts s to at most n columns (runes), ending it with "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ;,:") + "…"
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}
