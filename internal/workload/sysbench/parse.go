package sysbench

import (
	"bufio"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxReport bounds the report text the parser accepts; maxFatal the error
// lines it keeps.
const (
	maxReport = 4 << 20
	maxFatal  = 8
	maxLines  = 1000
)

// Report is sysbench's text report as sections of key/value lines. Keys are
// "section/key" in lower case, e.g. "cpu speed/events per second" or
// "latency (ms)/95th percentile"; lines of the options preamble are under
// section "options".
type Report struct {
	// Version is the first line's version, e.g. "1.0.20".
	Version string
	// Fatal holds sysbench's own error lines ("FATAL: ..."), which it
	// prints on stdout, sometimes with exit status 0.
	Fatal  []string
	fields map[string]string
	order  []string
	// lines holds the lines that are not key/value pairs ("Doing
	// sequential read test"), bounded.
	lines map[string]bool
}

// Parse reads a sysbench report.
func Parse(text string) (*Report, error) {
	if len(text) > maxReport {
		return nil, fmt.Errorf("sysbench report is %d bytes, more than the %d accepted", len(text), maxReport)
	}
	r := &Report{fields: map[string]string{}, lines: map[string]bool{}}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), maxReport)
	section := "options"
	sawHeader := false
	for sc.Scan() {
		raw := strings.TrimRight(sc.Text(), " \t\r")
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		if !sawHeader {
			if rest, ok := strings.CutPrefix(line, "sysbench "); ok {
				sawHeader = true
				r.Version, _, _ = strings.Cut(rest, " ")
				continue
			}
		}
		if strings.HasPrefix(line, "FATAL:") || strings.HasPrefix(line, "ALERT:") {
			if len(r.Fatal) < maxFatal {
				r.Fatal = append(r.Fatal, clip(line, 300))
			}
			continue
		}
		// The figures of a test without a section header of its own
		// (memory's "Total operations: ...") follow this line.
		if line == "Threads started!" {
			section = "results"
			continue
		}
		indented := raw != line
		// A header is an unindented line ending in ':' ("General statistics:",
		// "Latency (ms):").
		if !indented && strings.HasSuffix(line, ":") && !strings.Contains(strings.TrimSuffix(line, ":"), ":") {
			section = strings.ToLower(strings.TrimSuffix(line, ":"))
			// "Running the test with following options:", "Running memory
			// speed test with the following options:"
			if strings.HasPrefix(section, "running ") && strings.HasSuffix(section, " options") {
				section = "options"
			}
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(v) != "" {
			r.set(section, k, v)
			continue
		}
		// "8585.91 MiB transferred (4290.33 MiB/sec)"
		if amount, rest, ok := strings.Cut(line, " MiB transferred ("); ok {
			r.set(section, "mib transferred", amount)
			r.set(section, "mib per second", strings.TrimSuffix(strings.TrimSuffix(rest, ")"), " MiB/sec"))
			continue
		}
		if len(r.lines) < maxLines {
			r.lines[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading sysbench report: %w", err)
	}
	if !sawHeader {
		return nil, fmt.Errorf("not a sysbench report: no \"sysbench <version>\" line")
	}
	return r, nil
}

func (r *Report) set(section, key, value string) {
	k := section + "/" + strings.ToLower(strings.TrimSpace(key))
	if _, seen := r.fields[k]; !seen {
		r.order = append(r.order, k)
	}
	r.fields[k] = strings.TrimSpace(value)
}

// HasLine reports whether the report has a line that is not a key/value
// pair, e.g. "Doing sequential read test" (surrounding space ignored).
func (r *Report) HasLine(line string) bool { return r.lines[line] }

// Keys lists the keys of the report in the order they appeared.
func (r *Report) Keys() []string { return append([]string(nil), r.order...) }

// String returns the raw value of key, and whether it is present.
func (r *Report) String(key string) (string, bool) {
	v, ok := r.fields[key]
	return v, ok
}

// missing is the error for an absent key; it carries sysbench's own error
// lines, which usually say why the figure is not there.
func (r *Report) missing(key string) error {
	if len(r.Fatal) > 0 {
		return fmt.Errorf("sysbench report has no %q; sysbench said: %s", key, strings.Join(r.Fatal, " | "))
	}
	return fmt.Errorf("sysbench report has no %q", key)
}

// Float returns the number at the start of key's value. A unit suffix
// directly after the number ("2.0006s") or after a space is ignored here;
// Seconds and Millis convert units.
func (r *Report) Float(key string) (float64, error) {
	v, ok := r.fields[key]
	if !ok {
		return 0, r.missing(key)
	}
	f, err := leadingFloat(v)
	if err != nil {
		return 0, fmt.Errorf("sysbench report %q: %w", key, err)
	}
	return f, nil
}

// Seconds returns a duration value ("2.0006s") in seconds.
func (r *Report) Seconds(key string) (float64, error) {
	v, ok := r.fields[key]
	if !ok {
		return 0, r.missing(key)
	}
	if !strings.HasSuffix(v, "s") {
		return 0, fmt.Errorf("sysbench report %q: %q is not a duration in seconds", key, v)
	}
	return r.Float(key)
}

// Millis returns a value given in milliseconds, in seconds.
func (r *Report) Millis(key string) (float64, error) {
	f, err := r.Float(key)
	return f / 1000, err
}

// Pair returns the two numbers of an "a/b" value ("2256.0000/0.00").
func (r *Report) Pair(key string) (float64, float64, error) {
	v, ok := r.fields[key]
	if !ok {
		return 0, 0, r.missing(key)
	}
	a, b, found := strings.Cut(v, "/")
	if !found {
		return 0, 0, fmt.Errorf("sysbench report %q: %q is not a pair a/b", key, v)
	}
	x, err1 := leadingFloat(a)
	y, err2 := leadingFloat(b)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("sysbench report %q: %q is not a pair of numbers", key, v)
	}
	return x, y, nil
}

func leadingFloat(s string) (float64, error) {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) {
		c := s[end]
		if (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E' {
			end++
			continue
		}
		break
	}
	// Do not let an exponent marker swallow a unit ("1.5e" is not a number).
	for end > 0 && (s[end-1] == 'e' || s[end-1] == 'E' || s[end-1] == '+' || s[end-1] == '-') {
		end--
	}
	if end == 0 {
		return 0, fmt.Errorf("%q does not start with a number", s)
	}
	f, err := strconv.ParseFloat(s[:end], 64)
	if err != nil {
		return 0, fmt.Errorf("%q does not start with a number", s)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return f, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
