package plan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/workload"
)

// TestCheckFile: what suite check says of a file: its summary and
// disclosure when good, the file's problem otherwise; a fio job file that
// runs commands only with the grant, which the file cannot give.
func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("plain.fio", "[j]\nrw=read\nsize=1m\n")
	hostile := write("hostile.fio", "[j]\nrw=read\nsize=1m\nexec_prerun=touch owned\n")
	both := write("both.yaml", "runtimes: [host, runc]\nseed: 7\nworkloads:\n  - name: startup\n    params: {exec: /bin/echo hi}\n  - name: fio\n    params: {profile: "+plain+"}\n")
	files := write("files.yaml", "runtimes: [runc]\nworkloads: [{name: fio, params: {profile: "+plain+"}}]\n")
	none := write("none.yaml", "workloads: [{name: cpu, params: {threads: 1}}, {name: cpu, params: {threads: 2}}]\n")
	escape := write("escape.yaml", "runtimes: [host]\nworkloads:\n  - name: startup\n    params: {exec: \"/bin/echo \\e[31m\"}\n")
	exec := write("exec.yaml", "runtimes: [host]\nworkloads:\n  - name: fio\n    params: {profile: "+hostile+"}\n")
	all := []string{"host", "runc"}
	tests := []struct {
		name    string
		file    string
		grants  workload.Grants
		want    []string // in the output, in order
		wantErr string
	}{
		{"commands and files", both, workload.Grants{}, []string{
			both + ": ok: 2 runtimes (host, runc) × 2 workloads (startup, fio) = 4 cells",
			"seed 7\n",
			"  This suite will run these commands:\n    startup.exec: /bin/echo hi\n",
			"      where: on this host itself, as root (runtime host), and in the sandboxes of runc\n",
			"  and read these host files:\n    fio.profile: " + plain + "\n",
			"      where: by isobench, on this host, for every runtime\n",
		}, ""},
		{"files only", files, workload.Grants{}, []string{
			"1 runtimes (runc)", "  This suite will read these host files:\n    fio.profile: " + plain}, ""},
		{"nothing to disclose, every runtime", none, workload.Grants{}, []string{
			none + ": ok: 0 runtimes () × 2 workloads (cpu) = 4 cells", "random seed\n"}, ""},
		{"control characters quoted", escape, workload.Grants{}, []string{`startup.exec: "/bin/echo \x1b[31m"`}, ""},
		{"exec refused", exec, workload.Grants{}, nil, "pass --allow-exec to allow it"},
		{"exec granted", exec, workload.Grants{AllowExec: true}, []string{
			"  This suite will run these commands:\n    fio.profile: touch owned\n"}, ""},
		{"no such file", filepath.Join(dir, "missing.yaml"), workload.Grants{}, nil, "missing.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := builtinKnown(t)
			k.Grants = tc.grants
			out, err := plan.CheckFile(tc.file, k, all)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || out != "" {
					t.Fatalf("CheckFile = %q, %v; want the error %q", out, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rest := out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// TestWithGrants: the command line's grants reach the workloads that take
// them, as reserved parameters, and only the command line may set those.
func TestWithGrants(t *testing.T) {
	wreg := builtin.Workloads()
	s := plan.Suite{Workloads: []plan.WorkloadConfig{{Name: "fio", Set: map[string]string{"profile": "x"}}, {Name: "cpu"}}}
	g, err := s.WithGrants(wreg, workload.Grants{AllowExec: true})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range (workload.Grants{AllowExec: true}).Params() {
		if g.Workloads[0].Set[k] != v {
			t.Errorf("fio lacks the grant %s=%s: %v", k, v, g.Workloads[0].Set)
		}
		if _, ok := g.Workloads[1].Set[k]; ok {
			t.Errorf("cpu, which takes no grants, got %s", k)
		}
	}
	if _, ok := s.Workloads[0].Set["isobench.allow-exec"]; ok || len(s.Workloads[0].Set) != 1 {
		t.Errorf("the suite given was changed: %v", s.Workloads[0].Set)
	}
	if same, err := s.WithGrants(wreg, workload.Grants{}); err != nil || len(same.Workloads[0].Set) != 1 {
		t.Errorf("no grants: %v, %v", same.Workloads, err)
	}
	for k := range (workload.Grants{AllowExec: true}).Params() {
		bad := plan.Suite{Workloads: []plan.WorkloadConfig{{Name: "fio", Set: map[string]string{k: "true"}}}}
		if _, err := bad.WithGrants(wreg, workload.Grants{}); err == nil || !strings.Contains(err.Error(), "is reserved") {
			t.Errorf("a reserved %s set by the user: %v", k, err)
		}
	}
}
