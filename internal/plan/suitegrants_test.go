package plan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/workload"
)

// TestSuiteFileGrants: a suite file cannot grant what only the command
// line may (its reserved parameter names are refused), and a fio job file
// that runs commands is refused unless the command line allows it, with
// the job file's name and line.
func TestSuiteFileGrants(t *testing.T) {
	dir := t.TempDir()
	jobs := filepath.Join(dir, "jobs.fio")
	if err := os.WriteFile(jobs, []byte("[j]\nrw=read\nsize=1m\nexec_prerun=id\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		yaml   string
		grants workload.Grants
		want   string // "" : accepted
	}{
		{"exec refused", "workloads:\n  - name: fio\n    params: {profile: " + jobs + "}\n", workload.Grants{},
			"workloads[0].params.profile: fio profile " + jobs + " line 4: exec_prerun runs a shell command"},
		{"exec allowed", "workloads:\n  - name: fio\n    params: {profile: " + jobs + "}\n", workload.Grants{AllowExec: true}, ""},
		{"file grants itself", "workloads:\n  - name: fio\n    params:\n      profile: " + jobs + "\n      isobench.allow-exec: true\n", workload.Grants{},
			":5:7: workloads[0].params.isobench.allow-exec: the name is reserved"},
		{"file stores itself", "workloads:\n  - name: fio\n    params: {isobench.store-profile: true}\n", workload.Grants{StoreProfile: true},
			"workloads[0].params.isobench.store-profile: the name is reserved"},
		{"other reserved name", "workloads:\n  - name: startup\n    params: {isobench.anything: x}\n", workload.Grants{},
			"the name is reserved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := builtinKnown(t)
			k.Grants = tc.grants
			s, err := plan.ParseSuite("s.yaml", []byte(tc.yaml), k)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				for _, wc := range s.Workloads {
					for name := range wc.Set {
						if workload.IsReserved(name) {
							t.Errorf("the parsed suite carries %s: grants are the caller's to add", name)
						}
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestResolveReserved: Resolve lets a grant through only for a workload
// that takes grants, and only as true.
func TestResolveReserved(t *testing.T) {
	reg := builtinKnown(t).Workloads
	fio, _ := reg.Get("fio")
	cpu, _ := reg.Get("cpu")
	for _, tc := range []struct {
		w    workload.Workload
		set  map[string]string
		want string
	}{
		{fio, map[string]string{workload.ParamAllowExec: "true"}, ""},
		{fio, map[string]string{workload.ParamStoreProfile: "true"}, ""},
		{fio, map[string]string{workload.ParamAllowExec: "yes"}, "a grant is given as true or not at all"},
		{fio, map[string]string{"isobench.other": "true"}, "reserved for isobench"},
		{cpu, map[string]string{workload.ParamAllowExec: "true"}, "takes no such grant"},
	} {
		p, err := workload.Resolve(tc.w, plan.ProfileQuick, tc.set)
		if tc.want == "" && (err != nil || !workload.GrantsOf(p).AllowExec && !workload.GrantsOf(p).StoreProfile) || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %v: %v, %v; want %q", tc.w.Name(), tc.set, p, err, tc.want)
		}
	}
}
