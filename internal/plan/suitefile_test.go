package plan_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/host"
	"github.com/isobench/isobench/internal/driver/oci"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/testutil"
	"github.com/isobench/isobench/internal/testutil/hostile"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/sysbench"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/suites")

// known checks suites against a fixed set of isobench's real drivers and
// workloads (the host, the OCI runtimes; sysbench's cpu, memory and
// fileio), so that the golden errors, which list the known names, stay
// put as more are registered.
func known(t testing.TB) plan.Known {
	var dr driver.Registry
	dr.Register(host.Name, "", host.New)
	for _, r := range []struct {
		name string
		f    driver.Factory
	}{{"runc", oci.NewRunc}, {"crun", oci.NewCrun}, {"youki", oci.NewYouki}, {"runsc", oci.NewRunsc}} {
		dr.Register(r.name, "", r.f)
	}
	var wr workload.Registry
	wr.Register(sysbench.CPU{})
	wr.Register(sysbench.Memory{})
	wr.Register(sysbench.FileIO{})
	return knownOf(&dr, &wr)
}

// builtinKnown checks suites as `isobench suite check` does: against
// every driver and workload of this isobench.
func builtinKnown(t testing.TB) plan.Known {
	return knownOf(builtin.Drivers(), builtin.Workloads())
}

func knownOf(dr *driver.Registry, wr *workload.Registry) plan.Known {
	env := driver.Env{StateDir: "/nonexistent/state", RunDir: "/nonexistent/run"}
	return plan.Known{
		Workloads: wr,
		Runtime: func(ref string) error {
			_, err := dr.New(env, ref)
			return err
		},
	}
}

// golden compares got with the file, or rewrites it under -update.
func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to make it)", err)
	}
	if got != string(want) {
		t.Errorf("got:\n%s\nwant (%s):\n%s", got, file, want)
	}
}

// TestBadSuites loads every file of testdata/suites/bad and checks that it
// fails with exactly the errors of its .err file: file, line, column,
// field and message, never a panic.
func TestBadSuites(t *testing.T) {
	files, err := filepath.Glob("testdata/suites/bad/*.yaml")
	if err != nil || len(files) < 30 {
		t.Fatalf("want the bad suites in testdata/suites/bad, found %d (%v)", len(files), err)
	}
	k := known(t)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			s, err := plan.LoadSuiteFile(file, k)
			if err == nil {
				t.Fatalf("loaded without error: %+v", s)
			}
			var se plan.SuiteErrors
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v, want plan.SuiteErrors", err, err)
			}
			for _, e := range se {
				if e.File != file {
					t.Errorf("error %q names file %q, want %q", e, e.File, file)
				}
			}
			golden(t, strings.TrimSuffix(file, ".yaml")+".err", err.Error()+"\n")
		})
	}
}

// TestGoodSuites loads every file of testdata/suites/good and compares
// the suite it gives, as JSON, with its .json file.
func TestGoodSuites(t *testing.T) {
	files, err := filepath.Glob("testdata/suites/good/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good suites in testdata/suites/good (%v)", err)
	}
	k := known(t)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			s, err := plan.LoadSuiteFile(file, k)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(file, ".yaml")+".json", string(b)+"\n")
			if len(s.Runtimes) == 0 {
				s.Runtimes = []string{"host"} // what a run gives a suite that names none
			}
			if _, err := plan.Expand(*s, k.Workloads); err != nil {
				t.Fatalf("the loaded suite does not expand: %v", err)
			}
		})
	}
}

// TestExampleSuites checks the suites shipped in examples/ as
// `isobench suite check` would.
func TestExampleSuites(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example suites (%v)", err)
	}
	k := builtinKnown(t)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s, err := plan.LoadSuiteFile(file, k)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := plan.Expand(*s, k.Workloads); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSuiteFileTimeouts(t *testing.T) {
	src := `
timeout: 20m
runtimes: [host, runc]
workloads:
  - cpu
  - name: cpu
    params: {threads: 2}
    timeout: 90s
`
	k := known(t)
	s, err := plan.ParseSuite("t.yaml", []byte(src), k)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Expand(*s, k.Workloads)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cells) != 4 {
		t.Fatalf("%d cells, want 4", len(p.Cells))
	}
	for i, c := range p.Cells {
		want := 20 * time.Minute
		if c.Params["threads"] == "2" {
			want = 90 * time.Second
		}
		if got := p.Timeout(i); got != want {
			t.Errorf("cell %s: timeout %s, want %s", c.Key(), got, want)
		}
	}
}

func TestSuiteFileTooLarge(t *testing.T) {
	data := []byte("workloads: [cpu]\n" + strings.Repeat("# padding\n", plan.MaxSuiteFileSize/10+1))
	_, err := plan.ParseSuite("big.yaml", data, known(t))
	if err == nil || !strings.Contains(err.Error(), "big.yaml: the file is larger than") {
		t.Fatalf("error %v, want the size refused", err)
	}
}

// TestLoadSuiteFileTooLarge: a suite file on disk over the limit is refused
// naming the file and the limit, without being read whole.
func TestLoadSuiteFileTooLarge(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.yaml")
	data := "workloads: [cpu]\n" + strings.Repeat("# padding\n", plan.MaxSuiteFileSize/10+1)
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := plan.LoadSuiteFile(file, known(t))
	var se plan.SuiteErrors
	want := fmt.Sprintf("%s: the file is larger than %d bytes", file, plan.MaxSuiteFileSize)
	if !errors.As(err, &se) || len(se) != 1 || se[0].File != file || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want SuiteErrors %q", err, want)
	}
}

// TestLoadSuiteFileSpecial: a path that names a FIFO, a device or a
// directory is refused at once, naming the path and what it is; opening
// the FIFO for reading, or reading /dev/zero, would never end.
func TestLoadSuiteFileSpecial(t *testing.T) {
	dir := t.TempDir()
	fifo := hostile.FIFO(t, dir, "fifo.yaml")
	link := hostile.LinkToZero(t, dir, "link.yaml")
	k := known(t)
	for _, c := range []struct{ path, want string }{
		{fifo, fifo + ": a FIFO (named pipe), not a regular file"},
		{"/dev/zero", "/dev/zero: a character device, not a regular file"},
		{link, link + ": a character device, not a regular file"},
		{dir, dir + ": a directory, not a regular file"},
		{filepath.Join(dir, "missing.yaml"), "no such file or directory"},
	} {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := plan.LoadSuiteFile(c.path, k)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("LoadSuiteFile(%s) = %v, want %q", c.path, err, c.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("LoadSuiteFile(%s) blocked", c.path)
			}
		})
	}
}

// TestSuiteFileBounds: trials, warm-ups and time limits are held to the
// plan's shared bounds, with the file, line and field named.
func TestSuiteFileBounds(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{fmt.Sprintf("trials: %d\nworkloads: [cpu]\n", plan.MaxTrials+1), fmt.Sprintf("b.yaml:1:9: trials: %d is out of range: want 1 to %d", plan.MaxTrials+1, plan.MaxTrials)},
		{fmt.Sprintf("warmups: %d\nworkloads: [cpu]\n", plan.MaxWarmups+1), fmt.Sprintf("b.yaml:1:10: warmups: %d is out of range: want 0 to %d", plan.MaxWarmups+1, plan.MaxWarmups)},
		{"timeout: 500ms\nworkloads: [cpu]\n", "b.yaml:1:10: timeout: 500ms is shorter than the minimum 1s"},
		{"timeout: 169h\nworkloads: [cpu]\n", "b.yaml:1:10: timeout: 169h0m0s is longer than the maximum 168h0m0s"},
		{"timeout: 2562047h\nworkloads: [cpu]\n", "b.yaml:1:10: timeout: 2562047h0m0s is longer than the maximum 168h0m0s"},
		{"workloads:\n  - name: cpu\n    timeout: 8760h\n", "b.yaml:3:14: workloads[0].timeout: 8760h0m0s is longer than the maximum 168h0m0s"},
		{"timeout: 9999999999h\nworkloads: [cpu]\n", "b.yaml:1:10: timeout: \"9999999999h\" is not a duration"},
		{"trials: 10000\nwarmups: 1000\nruntimes: [host, runc]\nworkloads:\n  - name: cpu\n    params: {threads: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46]}\n",
			fmt.Sprintf("more than the %d one run may have", plan.MaxSteps)},
		{"timeout: 168h\nworkloads:\n  - name: cpu\n    timeout: 1s\n", ""},
	} {
		_, err := plan.ParseSuite("b.yaml", []byte(c.src), known(t))
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: error %v, want %q", c.src, err, c.want)
		}
	}
}

// FuzzParseSuite feeds the loader arbitrary text: it must return a suite
// or SuiteErrors naming the file, never panic, and a suite it returns must
// expand into a plan.
func FuzzParseSuite(f *testing.F) {
	for _, dir := range []string{"testdata/suites/good", "testdata/suites/bad"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	k := known(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := plan.ParseSuite("fuzz.yaml", data, k)
		if err != nil {
			var se plan.SuiteErrors
			if !errors.As(err, &se) || len(se) == 0 {
				t.Fatalf("error %T %v, want SuiteErrors", err, err)
			}
			for _, e := range se {
				if e.File != "fuzz.yaml" {
					t.Fatalf("error %q does not name the file", e)
				}
			}
			return
		}
		if s.Trials < 0 || s.Warmups < 0 {
			t.Fatalf("suite with trials %d warm-ups %d", s.Trials, s.Warmups)
		}
		if len(s.Runtimes) == 0 {
			s.Runtimes = []string{"host"}
		}
		if _, err := plan.Expand(*s, k.Workloads); err != nil {
			t.Fatalf("accepted suite does not expand: %v\n%s", err, data)
		}
	})
}
