package kube

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// ClassMap maps the runtime names of a run (runc, runsc, kata-qemu, ...)
// to the cluster's RuntimeClass names. A runtime not in the map uses the
// RuntimeClass of its own name; one mapped to "" uses no RuntimeClass (the
// nodes' default handler).
type ClassMap map[string]string

// ParseClassMap reads NAME=CLASS entries (as --runtime-class gives them),
// each of which may hold several separated by commas.
func ParseClassMap(entries []string) (ClassMap, error) {
	m := ClassMap{}
	for _, entry := range entries {
		for _, e := range strings.Split(entry, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			name, class, ok := strings.Cut(e, "=")
			name, class = strings.TrimSpace(name), strings.TrimSpace(class)
			if !ok || name == "" {
				return nil, fmt.Errorf("runtime class mapping %q: want RUNTIME=CLASS, e.g. runsc=gvisor (an empty CLASS means the nodes' default)", e)
			}
			if class != "" {
				if errs := validation.IsDNS1123Subdomain(class); len(errs) > 0 {
					return nil, fmt.Errorf("runtime class mapping %q: %q is not a RuntimeClass name: %s", e, class, strings.Join(errs, "; "))
				}
			}
			if prev, dup := m[name]; dup && prev != class {
				return nil, fmt.Errorf("runtime class mapping: %s is mapped to both %q and %q", name, prev, class)
			}
			m[name] = class
		}
	}
	return m, nil
}

// Class returns the RuntimeClass of a runtime name, and whether the pod
// names one at all.
func (m ClassMap) Class(runtime string) (string, bool) {
	if c, ok := m[runtime]; ok {
		return c, c != ""
	}
	return runtime, true
}

// Runtimes names the runtimes of the given RuntimeClasses: the name that
// maps to each, or the class's own name. It is the default list of a run.
func (m ClassMap) Runtimes(classes []string) []string {
	byClass := map[string]string{}
	for name, class := range m {
		if class != "" {
			if prev, ok := byClass[class]; !ok || name < prev {
				byClass[class] = name
			}
		}
	}
	var out []string
	for _, c := range classes {
		if name, ok := byClass[c]; ok {
			out = append(out, name)
		} else {
			out = append(out, c)
		}
	}
	for name, class := range m {
		if class == "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
