package kube

import (
	"reflect"
	"strings"
	"testing"
)

func TestClassMap(t *testing.T) {
	m, err := ParseClassMap([]string{"runsc=gvisor", "kata=kata-qemu, default="})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		runtime, class string
		named          bool
	}{
		{"runsc", "gvisor", true},
		{"kata", "kata-qemu", true},
		{"default", "", false},
		{"runc", "runc", true},         // not mapped: its own name
		{"kata-clh", "kata-clh", true}, // kata-* keep their names
	}
	for _, tt := range tests {
		class, named := m.Class(tt.runtime)
		if class != tt.class || named != tt.named {
			t.Errorf("Class(%q) = %q, %v; want %q, %v", tt.runtime, class, named, tt.class, tt.named)
		}
	}
	got := m.Runtimes([]string{"gvisor", "kata-clh", "kata-qemu", "runc"})
	want := []string{"default", "kata", "kata-clh", "runc", "runsc"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Runtimes = %v, want %v", got, want)
	}
}

func TestParseClassMapRefuses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"runsc", "want RUNTIME=CLASS"},
		{"=gvisor", "want RUNTIME=CLASS"},
		{"runsc=Bad_Class", "not a RuntimeClass name"},
		{"runsc=a,runsc=b", "mapped to both"},
	}
	for _, tt := range tests {
		_, err := ParseClassMap([]string{tt.in})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), strings.Split(tt.in, ",")[0][:1]) {
			t.Errorf("ParseClassMap(%q) = %v, want an error about %q", tt.in, err, tt.want)
		}
	}
}
