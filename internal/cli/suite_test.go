package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/testutil"
)

func TestSuiteCheck(t *testing.T) {
	state := t.TempDir()
	examples, _ := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "examples", "*.yaml"))
	if len(examples) == 0 {
		t.Fatal("no example suites")
	}
	code, out, errOut := isobench(t, append([]string{"--state-dir", state, "suite", "check"}, examples...)...)
	if code != ExitOK {
		t.Fatalf("suite check of the examples: exit %d\n%s%s", code, out, errOut)
	}
	for _, f := range examples {
		if !strings.Contains(out, f+": ok: ") {
			t.Errorf("no ok line for %s:\n%s", f, out)
		}
	}
	if !strings.Contains(out, "study.yaml: ok: 5 runtimes (host, docker, docker:runsc, incus, firecracker) × 3 workloads (cpu, memory, fileio)") {
		t.Errorf("the study suite is not described:\n%s", out)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("workloads:\n  - name: cpu\n    params: {threads: lots}\nruntimes: [host, runx]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = isobench(t, "--state-dir", state, "suite", "check", examples[0], bad)
	if code != ExitUsage {
		t.Errorf("suite check of a bad file: exit %d, want %d", code, ExitUsage)
	}
	for _, want := range []string{
		"1 of 2 suite files have problems",
		bad + `:3:23: workloads[0].params.threads: parameter threads: "lots" is not an integer`,
		bad + `:4:18: runtimes[1]: unknown runtime "runx"`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("suite check says:\n%s\nwant %q", errOut, want)
		}
	}
}

// TestSuiteCheckBounds: a suite file's time limits and fio's numbers and
// sizes beyond their bounds are reported with the file, line and field.
func TestSuiteCheckBounds(t *testing.T) {
	state := t.TempDir()
	file := filepath.Join(t.TempDir(), "bounds.yaml")
	src := "timeout: 8760h\nruntimes: [host]\nworkloads:\n" +
		"  - name: fio\n    params: {numjobs: 100000}\n" +
		"  - name: fio\n    params: {iodepth: 65537}\n" +
		"  - name: fio\n    params: {time: 86401}\n" +
		"  - name: fio\n    params: {bs: 2g}\n" +
		"  - name: fio\n    params: {size: 5t}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := isobench(t, "--state-dir", state, "suite", "check", file)
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d\n%s", code, ExitUsage, errOut)
	}
	for _, want := range []string{
		file + ":1:10: timeout: 8760h0m0s is longer than the maximum 168h0m0s",
		file + ":5:23: workloads[0].params.numjobs: parameter numjobs: 100000 is out of range: want 1 to 1024",
		file + ":7:23: workloads[1].params.iodepth: parameter iodepth: 65537 is out of range: want 1 to 65536",
		file + ":9:20: workloads[2].params.time: parameter time: 86401 is out of range: want 1 to 86400",
		file + `:11:18: workloads[3].params.bs: parameter bs: "2g" is more than 1g, the most taken`,
		file + `:13:20: workloads[4].params.size: parameter size: "5t" is more than 4t, the most taken`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("suite check says:\n%s\nwant %q", errOut, want)
		}
	}
}

// TestRunFileFlags: a suite file and flags that would contradict it are
// refused before anything runs.
func TestRunFileFlags(t *testing.T) {
	state := t.TempDir()
	suite := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(suite, []byte("workloads: [cpu]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", suite, "--workloads", "memory"}, "--workloads cannot be given with -f"},
		{[]string{"-f", suite, "--set", "cpu.threads=2"}, "--set cannot be given with -f"},
		{[]string{"-f", suite, "--runtimes", "host,nope"}, `--runtimes: unknown runtime "nope"`},
		{[]string{"-f", suite, "--profile", "slow"}, `unknown profile "slow"`},
		{[]string{"-f", filepath.Join(state, "missing.yaml")}, "reading suite file"},
		{[]string{"--timeout", "-5s"}, "--timeout -5s is negative"},
	} {
		code, _, errOut := isobench(t, append([]string{"--state-dir", state, "--db", filepath.Join(state, "db"), "run"}, c.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("run %v: exit %d, %q; want usage error %q", c.args, code, errOut, c.want)
		}
	}
}

// TestInterruptedExitStatus: whatever fails after an interrupt, the exit
// status says interrupted.
func TestInterruptedExitStatus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut strings.Builder
	code := Main(ctx, []string{"--state-dir", t.TempDir(), "--cache-dir", t.TempDir(), "run", "--runtimes", "host", "--agent", "/nonexistent/agent"}, Env{
		Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Version: "test",
	})
	if code != ExitInterrupted {
		t.Errorf("exit %d after an interrupt, want %d:\n%s", code, ExitInterrupted, errOut.String())
	}
}

// TestSuiteDisclosure: suite check and run list, before anything runs,
// the commands of the user's a suite runs and the host files it reads; a
// fio job file that runs commands is refused without --allow-exec, which
// only the command line gives.
func TestSuiteDisclosure(t *testing.T) {
	state := t.TempDir()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := write("plain.fio", "[j]\nrw=read\nsize=1m\n")
	hostile := write("hostile.fio", "[global]\nsize=1m\n\n[j]\nrw=read\n; harmless\nexec_prerun=touch owned\n")
	suite := write("s.yaml", "runtimes: [host, runc]\nworkloads:\n  - name: startup\n    params: {exec: /bin/echo hi}\n  - name: fio\n    params: {profile: "+plain+"}\n")
	bad := write("bad.yaml", "runtimes: [host]\nworkloads:\n  - name: fio\n    params: {profile: "+hostile+"}\n")
	granted := write("granted.yaml", "runtimes: [host]\nworkloads:\n  - name: fio\n    params: {profile: "+hostile+", isobench.allow-exec: true}\n")
	for _, c := range []struct {
		name    string
		args    []string
		code    int
		want    []string // in stdout
		wantErr []string
	}{
		{"check lists both", []string{"suite", "check", suite}, ExitOK, []string{
			suite + ": ok: ",
			"  This suite will run these commands:\n    startup.exec: /bin/echo hi\n",
			"on this host itself, as root (runtime host), and in the sandboxes of runc",
			"  and read these host files:\n    fio.profile: " + plain + "\n",
			"by isobench, on this host, for every runtime",
		}, nil},
		{"check refuses exec", []string{"suite", "check", bad}, ExitUsage, nil, []string{
			"fio profile " + hostile + " line 7: exec_prerun runs a shell command", "pass --allow-exec to allow it"}},
		{"check allows exec", []string{"suite", "check", "--allow-exec", bad}, ExitOK, []string{
			"This suite will run these commands:\n    fio.profile: touch owned\n", hostile + " line 7, job [j]: exec_prerun runs a shell command"}, nil},
		{"file cannot grant", []string{"suite", "check", granted}, ExitUsage, nil, []string{"isobench.allow-exec: the name is reserved"}},
		{"run refuses exec", []string{"run", "--workloads", "fio", "--set", "fio.profile=" + hostile, "--runtimes", "host"}, ExitUsage, nil, []string{
			"fio profile " + hostile + " line 7: exec_prerun"}},
		{"run -f refuses exec", []string{"run", "-f", bad}, ExitUsage, nil, []string{"fio profile " + hostile + " line 7: exec_prerun"}},
		{"run --set cannot grant", []string{"run", "--workloads", "fio", "--set", "fio.isobench.allow-exec=true", "--runtimes", "host"}, ExitUsage, nil, []string{
			`parameter "isobench.allow-exec" is reserved: give --allow-exec`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--state-dir", state, "--db", filepath.Join(state, "db")}, c.args...)
			code, out, errOut := isobench(t, args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("errors lack %q:\n%s", w, errOut)
				}
			}
		})
	}

	// run says it before it gets the image (which fails here: the image
	// named does not exist).
	args := []string{"--state-dir", state, "--db", filepath.Join(state, "db"), "run", "-f", bad, "--allow-exec", "--image", filepath.Join(dir, "no-image")}
	code, _, errOut := isobench(t, args...)
	i := strings.Index(errOut, "This suite will run these commands:\n  fio.profile: touch owned\n")
	j := strings.LastIndex(errOut, "isobench: ")
	if code == ExitOK || i < 0 || j < i {
		t.Errorf("run does not disclose before the image:\n%s", errOut)
	}
	if !strings.Contains(errOut, "and read these host files:\n  fio.profile: "+hostile) {
		t.Errorf("run does not list the job file:\n%s", errOut)
	}
}
