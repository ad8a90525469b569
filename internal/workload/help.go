package workload

import (
	"fmt"
	"sort"
	"strings"
)

// Help lists the registry's workloads for `isobench run --help`: each with
// its doc, then each parameter as the --set flag that gives it, with its
// default, doc and values under the named profiles.
func (r *Registry) Help() string {
	var wl []string
	for _, n := range r.Names() {
		w, _ := r.Get(n)
		wl = append(wl, fmt.Sprintf("  %-8s %s", n, w.Doc()))
		for _, p := range w.Params() {
			extra := ""
			if len(p.Profiles) > 0 {
				var ps []string
				for k, v := range p.Profiles {
					ps = append(ps, k+": "+v)
				}
				sort.Strings(ps)
				extra = " (" + strings.Join(ps, ", ") + ")"
			}
			wl = append(wl, fmt.Sprintf("      --set %s.%s=%s  %s%s", n, p.Name, p.Default, p.Doc, extra))
		}
	}
	return strings.Join(wl, "\n")
}
