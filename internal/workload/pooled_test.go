package workload

import (
	"os"
	"path/filepath"
	"testing"
)

// TestParsePooled reads the single values the startup workload kept in
// real runs (one file per runtime), and what Encode writes.
func TestParsePooled(t *testing.T) {
	files, err := filepath.Glob("testdata/pooled-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured values: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParsePooled(string(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(p["total"]) == 0 || len(p["create"]) != len(p["total"]) {
			t.Errorf("%s: %d totals, %d creates", f, len(p["total"]), len(p["create"]))
		}
		again, err := ParsePooled(p.Encode())
		if err != nil || len(again) != len(p) {
			t.Errorf("%s: round trip: %v", f, err)
		}
	}
	for _, s := range []string{"", "[]", `{"a":[1]} {}`, `{"":[1]}`, `{"a":["x"]}`, `{"a":[1e999]}`} {
		if _, err := ParsePooled(s); err == nil {
			t.Errorf("accepted %q", s)
		}
	}
}

// FuzzParsePooled: no input panics.
func FuzzParsePooled(f *testing.F) {
	files, _ := filepath.Glob("testdata/pooled-*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePooled(s)
		if err != nil {
			return
		}
		for k := range p {
			if k == "" {
				t.Fatal("accepted an empty metric name")
			}
		}
	})
}
