package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// WriteJSON writes the report as doctor --json does.
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteShort writes one line per runtime and per tool, none wider than
// width columns: a reason too long is cut with "…".
func WriteShort(w io.Writer, rep Report, width int) error {
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

// WriteLong writes every detail: a block per runtime, its reasons or facts
// one a line, then the tools.
func WriteLong(w io.Writer, rep Report) error {
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
