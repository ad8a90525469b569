package plan

import (
	"fmt"
	"strings"
)

// ProfilesHelp lists the profiles for `isobench run --help`, one a line:
// name, doc, trials and warm-ups.
func ProfilesHelp() string {
	var profiles []string
	for _, p := range Profiles() {
		profiles = append(profiles, fmt.Sprintf("  %-6s %s (%d trials, %d warm-up)", p.Name, p.Doc, p.Trials, p.Warmups))
	}
	return strings.Join(profiles, "\n")
}

// ParseSets turns --set WORKLOAD.PARAM=VALUE flags into per-workload maps
// of parameters; it fails on a malformed flag or one given twice.
func ParseSets(sets []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, s := range sets {
		kv, val, ok := strings.Cut(s, "=")
		w, p, ok2 := strings.Cut(kv, ".")
		if !ok || !ok2 || w == "" || p == "" {
			return nil, fmt.Errorf("--set %q: want WORKLOAD.PARAM=VALUE, e.g. cpu.time=2", s)
		}
		if out[w] == nil {
			out[w] = map[string]string{}
		}
		if _, dup := out[w][p]; dup {
			return nil, fmt.Errorf("--set %s.%s is given twice", w, p)
		}
		out[w][p] = val
	}
	return out, nil
}
