package setup

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestPlan checks the install plan: which components are wanted, which are
// missing and from which suite, and what a dry run prints.
func TestPlan(t *testing.T) {
	all := func(string) bool { return true }
	none := func(string) bool { return false }
	tests := []struct {
		name          string
		tests         bool
		installed     func(string) bool
		missing       []string
		missingBP     []string
		lines         int
		wantOut       []string // lines the output has
		notOut        []string // texts the output lacks
		wantDryRun    []string
		wantDryRunNot []string
	}{
		{
			name: "all installed", installed: all,
			lines:   len(components()) - countGroup("test") + len(backportsComponents()),
			wantOut: []string{"ok       runc             OCI runtime runc", "ok       incus            system containers Incus (the incus runtime)"},
			notOut:  []string{"chromium", "missing"},
		},
		{
			name: "all installed, with tests", tests: true, installed: all,
			lines:   len(components()) + len(backportsComponents()),
			wantOut: []string{"ok       chromium         headless browser: the test that opens the HTML report"},
		},
		{
			name: "incus missing", installed: func(p string) bool { return p != "incus" },
			missingBP:     []string{"incus"},
			lines:         len(components()) - countGroup("test") + len(backportsComponents()),
			wantOut:       []string{"missing  incus            system containers Incus (the incus runtime), from the backports suite"},
			wantDryRun:    []string{"would enable the distribution's backports suite (from the mirror its apt sources name) and run: apt-get install -y -t <codename>-backports incus"},
			wantDryRunNot: []string{"--no-install-recommends"},
		},
		{
			name: "two missing", installed: func(p string) bool { return p != "fio" && p != "jq" },
			missing:       []string{"fio"},
			lines:         len(components()) - countGroup("test") + len(backportsComponents()),
			wantOut:       []string{"missing  fio              the fio workload"},
			notOut:        []string{"jq"},
			wantDryRun:    []string{"would run: apt-get install -y --no-install-recommends fio"},
			wantDryRunNot: []string{"backports"},
		},
		{
			name: "two missing, with tests", tests: true, installed: func(p string) bool { return p != "fio" && p != "jq" },
			missing:    []string{"fio", "jq"},
			lines:      len(components()) + len(backportsComponents()),
			wantOut:    []string{"missing  jq               the Kubernetes CI step reads a run's JSON (scripts/kube/ci.sh)"},
			wantDryRun: []string{"would run: apt-get install -y --no-install-recommends fio jq"},
		},
		{
			name: "nothing installed", installed: none,
			missing:   runGroup(),
			missingBP: []string{"incus"},
			lines:     len(components()) - countGroup("test") + len(backportsComponents()),
			wantDryRun: []string{
				"would run: apt-get install -y --no-install-recommends " + strings.Join(runGroup(), " "),
				"would enable the distribution's backports suite",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newPlan(&out, tc.tests, tc.installed)
			if !slices.Equal(p.missing, tc.missing) || !slices.Equal(p.missingBP, tc.missingBP) {
				t.Errorf("missing %q and %q from backports, want %q and %q", p.missing, p.missingBP, tc.missing, tc.missingBP)
			}
			if p.empty() != (len(tc.missing) == 0 && len(tc.missingBP) == 0) {
				t.Errorf("empty() = %v", p.empty())
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != tc.lines {
				t.Errorf("%d lines, want %d:\n%s", len(lines), tc.lines, out.String())
			}
			for _, want := range tc.wantOut {
				if !slices.Contains(lines, want) {
					t.Errorf("output lacks the line %q:\n%s", want, out.String())
				}
			}
			for _, not := range tc.notOut {
				if strings.Contains(out.String(), not) {
					t.Errorf("output has %q:\n%s", not, out.String())
				}
			}
			var dry bytes.Buffer
			p.writeDryRun(&dry)
			for _, want := range tc.wantDryRun {
				if !strings.Contains(dry.String(), want) {
					t.Errorf("dry run lacks %q:\n%s", want, dry.String())
				}
			}
			for _, not := range tc.wantDryRunNot {
				if strings.Contains(dry.String(), not) {
					t.Errorf("dry run has %q:\n%s", not, dry.String())
				}
			}
		})
	}
}

func countGroup(group string) int {
	n := 0
	for _, c := range components() {
		if c.group == group {
			n++
		}
	}
	return n
}

func runGroup() []string {
	var pkgs []string
	for _, c := range components() {
		if c.group == "run" {
			pkgs = append(pkgs, c.pkg)
		}
	}
	return pkgs
}

// TestComponents checks the package lists: each package once, each with a
// reason and a known group.
func TestComponents(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range append(components(), backportsComponents()...) {
		if seen[c.pkg] {
			t.Errorf("%s listed twice", c.pkg)
		}
		seen[c.pkg] = true
		if c.why == "" {
			t.Errorf("%s has no reason", c.pkg)
		}
		if c.group != "run" && c.group != "test" {
			t.Errorf("%s: group %q, want run or test", c.pkg, c.group)
		}
	}
}
