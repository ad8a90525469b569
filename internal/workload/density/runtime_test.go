package density

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload/workloadtest"
)

func value(t *testing.T, tr result.Trial, m string) float64 {
	t.Helper()
	v, ok := tr.Value(m)
	if !ok {
		t.Fatalf("no %s in %v", m, tr.Samples)
	}
	return v
}

// TestDensityOnRuntimes keeps 3 sandboxes of every runtime alive and
// checks what a user reads: all 3 reached, memory per sandbox from host
// processes (gVisor's sentry and gofer are two or more processes) and
// cgroups where the runtime has them, and start times that agree.
func TestDensityOnRuntimes(t *testing.T) {
	for _, rt := range workloadtest.Runtimes() {
		t.Run(rt, func(t *testing.T) {
			tr := workloadtest.Trial(t, Workload{}, rt, map[string]string{"n": "3", "settle": "0s"})
			if tr.Status != result.StatusOK {
				t.Fatalf("trial %s: %s", tr.Status, tr.Error)
			}
			if n := value(t, tr, "reached"); n != 3 {
				t.Errorf("reached %v, want 3", n)
			}
			pss, rss := value(t, tr, "pss_per_sandbox"), value(t, tr, "rss_per_sandbox")
			if pss <= 0 || rss < pss {
				t.Errorf("PSS %v, RSS %v per sandbox", pss, rss)
			}
			procs := value(t, tr, "processes_per_sandbox")
			if procs < 1 || (rt == "runsc" && procs < 2) {
				t.Errorf("%v host processes per sandbox", procs)
			}
			if rt != "host" && value(t, tr, "cgroup_memory_per_sandbox") <= 0 {
				t.Error("no cgroup memory")
			}
			if value(t, tr, "all_ready") < value(t, tr, "start_median") {
				t.Error("all ready before the median sandbox started")
			}
			t.Logf("%s: %v", rt, tr.Samples)
		})
	}
}

// TestDensityRunc20 keeps 20 runc sandboxes alive at once, then checks
// that nothing of them is left: no container, cgroup, mount or network.
func TestDensityRunc20(t *testing.T) {
	tr := workloadtest.Trial(t, Workload{}, "runc", map[string]string{"n": "20", "settle": "0s", "parallel": "2"})
	if tr.Status != result.StatusOK {
		t.Fatalf("trial %s: %s", tr.Status, tr.Error)
	}
	if n := value(t, tr, "reached"); n != 20 {
		t.Fatalf("reached %v, want 20", n)
	}
	prefix := driver.IDPrefix + tr.RunID + "-"
	out, err := exec.Command("runc", "list", "--quiet").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), prefix) {
		t.Errorf("runc still lists containers of the trial:\n%s", out)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if bytes.Contains(mounts, []byte(prefix)) {
		t.Error("mounts of the trial are left")
	}
	left, _ := filepath.Glob("/sys/fs/cgroup/*/isobench/" + prefix + "*")
	if len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}
	t.Logf("20 runc sandboxes: %v", tr.Samples)
}

// TestRamp starts host sandboxes until max: all of them, with the count
// reported.
func TestRamp(t *testing.T) {
	tr := workloadtest.Trial(t, Workload{}, "host", map[string]string{"n": Ramp, "max": "4", "settle": "0s"})
	if tr.Status != result.StatusOK {
		t.Fatalf("trial %s: %s", tr.Status, tr.Error)
	}
	if n := value(t, tr, "reached"); n != 4 {
		t.Errorf("reached %v, want 4", n)
	}
}

func TestSweepAndCheck(t *testing.T) {
	base := map[string]string{"n": "1, 10,20", "max": "200", "parallel": "1", "settle": "1s"}
	sets, err := (Workload{}).Sweep(base)
	if err != nil || len(sets) != 3 || sets[1]["n"] != "10" {
		t.Fatalf("Sweep = %v, %v", sets, err)
	}
	for _, s := range sets {
		if err := (Workload{}).Check(driver.Info{}, s); err != nil {
			t.Errorf("cell %v: %v", s, err)
		}
	}
	for k, v := range map[string]string{"n": "0", "parallel": "0", "settle": "forever", "max": "-1"} {
		p := map[string]string{"n": "ramp", "max": "5", "parallel": "1", "settle": "1s"}
		p[k] = v
		if err := (Workload{}).Check(driver.Info{}, p); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
	if _, err := (Workload{}).Sweep(map[string]string{"n": "1,1", "max": "5", "parallel": "1", "settle": "1s"}); err == nil {
		t.Error("a count listed twice was accepted")
	}
	if err := (Workload{}).Check(driver.Info{}, base); err == nil {
		t.Error("a list of counts accepted as one cell")
	}
}
