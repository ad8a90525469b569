package plan

import (
	"fmt"
	"strings"

	"github.com/isobench/isobench/internal/inputfile"
)

// CheckFile reads a suite file strictly, as run -f does, makes its plan as
// run makes it (every runtime in all when the file names none, the grants
// of known.Grants, which the file cannot give) and returns what suite
// check says of a good file: a line of what it runs, then, indented, every
// command of the user's it would run and every host file it would read
// (see Disclose). The error says what is wrong with the file.
func CheckFile(file string, known Known, all []string) (string, error) {
	// A FIFO, a device or a directory is refused before it is opened
	// (opening a FIFO would block, /dev/zero never ends).
	if err := inputfile.CheckIfExists(file); err != nil {
		return "", err
	}
	s, err := LoadSuiteFile(file, known)
	if err != nil {
		return "", err
	}
	full := *s
	if len(full.Runtimes) == 0 {
		full.Runtimes = all
	}
	full, err = full.WithGrants(known.Workloads, known.Grants)
	var p *Plan
	if err == nil {
		p, err = Expand(full, known.Workloads)
	}
	var b strings.Builder
	if err == nil {
		err = Disclose(&b, full, known.Workloads)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	return fmt.Sprintf("%s: ok: %s\n%s", file, describe(*s, p), indent(b.String(), "  ")), nil
}

// describe says in one line what a suite runs.
func describe(s Suite, p *Plan) string {
	rts := strings.Join(s.Runtimes, ", ")
	var wl []string
	seen := map[string]bool{}
	for _, w := range s.Workloads {
		if !seen[w.Name] {
			seen[w.Name] = true
			wl = append(wl, w.Name)
		}
	}
	seed := "random seed"
	if s.Seed != 0 {
		seed = fmt.Sprintf("seed %d", s.Seed)
	}
	return fmt.Sprintf("%d runtimes (%s) × %d workloads (%s) = %d cells, %d trials with warm-ups, profile %s, %s order, %s",
		len(s.Runtimes), rts, len(s.Workloads), strings.Join(wl, ", "), len(p.Cells), len(p.Steps), s.Profile, s.Order, seed)
}

// indent puts prefix before each line of text.
func indent(text, prefix string) string {
	if text == "" {
		return ""
	}
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
