package plan

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sets    []string
		want    map[string]map[string]string
		wantErr string
	}{
		{"none", nil, map[string]map[string]string{}, ""},
		{"two workloads", []string{"cpu.time=2", "fileio.size=1G", "cpu.threads="},
			map[string]map[string]string{"cpu": {"time": "2", "threads": ""}, "fileio": {"size": "1G"}}, ""},
		{"value with =", []string{"net.args=a=b"}, map[string]map[string]string{"net": {"args": "a=b"}}, ""},
		{"no value", []string{"cpu.time"}, nil, "want WORKLOAD.PARAM=VALUE"},
		{"no param", []string{"cpu=2"}, nil, "want WORKLOAD.PARAM=VALUE"},
		{"empty workload", []string{".time=2"}, nil, "want WORKLOAD.PARAM=VALUE"},
		{"twice", []string{"cpu.time=2", "cpu.time=3"}, nil, "--set cpu.time is given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSets(tc.sets)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseSets(%q) error %v, want one saying %q", tc.sets, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseSets(%q) = %v, %v; want %v", tc.sets, got, err, tc.want)
			}
		})
	}
}

func TestProfilesHelp(t *testing.T) {
	help := ProfilesHelp()
	lines := strings.Split(help, "\n")
	if len(lines) != len(Profiles()) {
		t.Fatalf("%d lines for %d profiles:\n%s", len(lines), len(Profiles()), help)
	}
	for i, p := range Profiles() {
		if !strings.HasPrefix(strings.TrimSpace(lines[i]), p.Name+" ") || !strings.Contains(lines[i], p.Doc) {
			t.Errorf("line %q does not name profile %s with its doc", lines[i], p.Name)
		}
	}
}
