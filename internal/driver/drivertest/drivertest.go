package drivertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/image"
)

// Option adapts the suite to a driver.
type Option func(*config)

// LeakCheck is a driver-specific check that nothing of the sandbox id is
// left on the host; it returns an error describing what is.
type LeakCheck func(ctx context.Context, id string) error

type config struct {
	env            *driver.Env
	leakChecks     []namedCheck
	noNetIso       string
	noScratch      map[string]string
	noFailedStart  string
	noHangingStart string
	failedStartRE  *regexp.Regexp
	startTimeout   time.Duration
	commandTimeout time.Duration
	runtimeState   RuntimeState
}

type namedCheck struct {
	name  string
	check LeakCheck
}

// WithEnv gives the suite the Env the driver was built with, so that it can
// check that nothing of a sandbox is left under its RunDir and StateDir.
// Without it those checks are skipped (and the suite says so).
func WithEnv(env driver.Env) Option { return func(c *config) { c.env = &env } }

// WithLeakCheck adds a driver-specific leak check, run after every subtest
// with the id of each sandbox it made (e.g. `runc list` does not show it,
// its cgroups are gone).
func WithLeakCheck(name string, check LeakCheck) Option {
	return func(c *config) { c.leakChecks = append(c.leakChecks, namedCheck{name, check}) }
}

// WithoutNetworkIsolation says the driver cannot give a sandbox without
// network (e.g. the host baseline); the no-network subtest skips with the
// reason.
func WithoutNetworkIsolation(reason string) Option {
	return func(c *config) { c.noNetIso = reason }
}

// WithoutScratch says the driver cannot make scratch of a kind; its subtest
// skips with the reason.
func WithoutScratch(kind, reason string) Option {
	return func(c *config) {
		if c.noScratch == nil {
			c.noScratch = map[string]string{}
		}
		c.noScratch[kind] = reason
	}
}

// WithoutFailedStart says the suite's way of failing a start (an image
// without the agent) does not apply to the driver; the subtest skips with
// the reason.
func WithoutFailedStart(reason string) Option {
	return func(c *config) { c.noFailedStart = reason }
}

// WithoutHangingStart says the suite's way of making a start hang (an
// agent that never says it is ready) does not apply to the driver; the
// subtest skips with the reason.
func WithoutHangingStart(reason string) Option {
	return func(c *config) { c.noHangingStart = reason }
}

// WithFailedStartMessage replaces the check on a failed start's error: by
// default it must mention the agent's path, "no such file" or "not found"
// (what a runtime says when the init cannot be run).
func WithFailedStartMessage(re *regexp.Regexp) Option {
	return func(c *config) { c.failedStartRE = re }
}

// RuntimeState says what the driver's runtime records of sandbox id:
// known is whether the runtime still has a record of it (it lists it, its
// state exists), running whether the sandbox's init still runs by the
// runtime's word.
type RuntimeState func(ctx context.Context, id string) (known, running bool, err error)

// WithRuntimeState gives the suite the runtime's view of a sandbox, for
// drivers where one is observable (an OCI runtime's state, an engine's
// container, an LXC or Incus instance). The suite then checks the phase
// boundaries the startup workload times: after Stop the runtime still
// knows the sandbox and its init is gone (Stop does not do the runtime's
// delete); after Close the runtime no longer knows it (Close does).
// Without it the subtest checks what every driver can show (HostPIDs) and
// says that the runtime's record was not checked.
func WithRuntimeState(f RuntimeState) Option { return func(c *config) { c.runtimeState = f } }

// WithTimeouts sets the bound of each Start (default 60s) and of each
// command (default 30s), for slow drivers (software-emulated VMs).
func WithTimeouts(start, command time.Duration) Option {
	return func(c *config) { c.startTimeout, c.commandTimeout = start, command }
}

// suite is one run of the suite over one driver.
type suite struct {
	cfg config
	d   driver.Driver
	img *image.Image

	mu          sync.Mutex
	variants    map[string]*image.Image // images derived from img, by kind
	cleanupDirs []string
}

// Run runs the suite every driver passes against d, making sandboxes from
// img, which must hold the agent at image.AgentPath and a shell at /bin/sh
// with cat (testutil.MinimalImage does). Each subtest checks afterwards that
// nothing of its sandboxes is left on the host: no mount and no process
// (command line or working directory) naming the id, nothing under the
// RunDir or StateDir naming it (with WithEnv), and the driver's own checks.
//
// The caller skips before calling Run when the driver cannot work here
// (Probe returns ErrNotSupported); Run probes and fails if it does not.
func Run(t *testing.T, d driver.Driver, img *image.Image, opts ...Option) {
	t.Helper()
	s := &suite{d: d, img: img, cfg: config{startTimeout: 60 * time.Second, commandTimeout: 30 * time.Second}}
	for _, o := range opts {
		o(&s.cfg)
	}
	if img == nil {
		t.Fatal("drivertest: no image")
	}
	if s.cfg.env == nil {
		t.Logf("drivertest: no Env given (WithEnv): not checking RunDir and StateDir for leftovers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.startTimeout)
	info, err := d.Probe(ctx)
	cancel()
	if err != nil {
		t.Fatalf("drivertest: Probe of %s failed (skip before calling Run when the driver cannot work here): %v", d.Name(), err)
	}
	t.Logf("drivertest: %s %s (%s) %v", info.Name, info.Version, info.Isolation, info.Features)

	t.Cleanup(func() {
		for _, d := range s.cleanupDirs {
			_ = os.RemoveAll(d)
		}
	})

	t.Run("StartExec", s.testStartExec)
	t.Run("StartTwice", s.testStartTwice)
	t.Run("ExitStatus", s.testExitStatus)
	t.Run("Agent", s.testAgent)
	t.Run("StopThenClose", s.testStopThenClose)
	t.Run("PhaseBoundaries", s.testPhaseBoundaries)
	t.Run("StopTwice", s.testStopTwice)
	t.Run("CloseTwice", s.testCloseTwice)
	t.Run("CloseWithoutStart", s.testCloseWithoutStart)
	t.Run("FailedStart", s.testFailedStart)
	t.Run("HangingStart", s.testHangingStart)
	t.Run("ExecAfterStop", s.testExecAfterStop)
	t.Run("BadInput", s.testBadInput)
	t.Run("Parallel", s.testParallel)
	t.Run("Scratch", s.testScratch)
	t.Run("NoNetwork", s.testNoNetwork)
	t.Run("Network", s.testNetwork)
	t.Run("RunOnce", s.testRunOnce)
}

// newID returns a fresh sandbox id.
func newID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return driver.IDPrefix + "dt-" + hex.EncodeToString(b)
}

func (s *suite) spec(t *testing.T) driver.Spec {
	return driver.Spec{ID: newID(t), Image: s.img, Scratch: driver.ScratchRootfs}
}

// create makes an instance and registers, as a cleanup of t, its Close
// (again, if the test closed it: Close is idempotent) and the leak check.
func (s *suite) create(t *testing.T, spec driver.Spec) driver.Instance {
	t.Helper()
	s.expectGone(t, spec.ID)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	inst, err := s.d.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create(%s): %v", spec.ID, err)
	}
	if inst == nil {
		t.Fatalf("Create(%s) returned a nil Instance and no error", spec.ID)
	}
	t.Cleanup(func() {
		if err := inst.Close(); err != nil {
			t.Errorf("Close(%s) in cleanup: %v", spec.ID, err)
		}
	})
	return inst
}

// expectGone registers, as a cleanup of t, the check that nothing of id is
// left. Cleanups run last-registered first, so when registered before the
// instance's Close it runs after it.
func (s *suite) expectGone(t *testing.T, id string) {
	t.Cleanup(func() {
		if err := s.leftovers(id); err != nil {
			t.Errorf("after the test, left behind: %v", err)
		}
	})
}

func (s *suite) start(t *testing.T, inst driver.Instance) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	if err := inst.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func (s *suite) started(t *testing.T, spec driver.Spec) driver.Instance {
	t.Helper()
	inst := s.create(t, spec)
	s.start(t, inst)
	return inst
}

// exec runs argv and returns stdout, stderr and the error.
func (s *suite) exec(inst driver.Instance, argv ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.commandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := inst.Exec(ctx, argv, &stdout, &stderr)
	if ctx.Err() != nil {
		err = fmt.Errorf("Exec %q did not return within %s: %w", argv, s.cfg.commandTimeout, err)
	}
	return stdout.String(), stderr.String(), err
}

func (s *suite) mustExec(t *testing.T, inst driver.Instance, argv ...string) string {
	t.Helper()
	out, errOut, err := s.exec(inst, argv...)
	if err != nil {
		t.Fatalf("Exec %q: %v (stderr %q)", argv, err, errOut)
	}
	return out
}

func (s *suite) stop(t *testing.T, inst driver.Instance) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	if err := inst.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func (s *suite) testStartExec(t *testing.T) {
	inst := s.started(t, s.spec(t))
	tests := []struct {
		name           string
		argv           []string
		stdout, stderr string
	}{
		{"both", []string{"/bin/sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2"}, "out\n", "err\n"},
		{"no trailing newline", []string{"/bin/sh", "-c", "printf out; printf err >&2"}, "out", "err"},
		{"nothing", []string{"/bin/sh", "-c", "true"}, "", ""},
		{"arguments kept apart", []string{"/bin/sh", "-c", `printf '[%s]' "$@"`, "sh", "a b", "--help", "-c", ""}, "[a b][--help][-c][]", ""},
		{"binary output", []string{"/bin/sh", "-c", `printf '\001\377\000x'`}, "\x01\xff\x00x", ""},
		{"larger output", []string{"/bin/sh", "-c", `i=0; while [ $i -lt 2000 ]; do echo 0123456789abcdef0123456789abcdef; i=$((i+1)); done`}, strings.Repeat("0123456789abcdef0123456789abcdef\n", 2000), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := s.exec(inst, tc.argv...)
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if out != tc.stdout {
				t.Errorf("stdout = %q, want %q", clip(out), clip(tc.stdout))
			}
			if errOut != tc.stderr {
				t.Errorf("stderr = %q, want %q", clip(errOut), clip(tc.stderr))
			}
		})
	}
	s.stop(t, inst)
	if err := inst.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func (s *suite) testStartTwice(t *testing.T) {
	inst := s.started(t, s.spec(t))
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	if err := inst.Start(ctx); err == nil {
		t.Fatal("second Start returned nil; Start may be called once")
	}
	// The sandbox still runs.
	if out := s.mustExec(t, inst, "/bin/sh", "-c", "echo alive"); out != "alive\n" {
		t.Errorf("after a second Start, stdout = %q", out)
	}
}

func (s *suite) testExitStatus(t *testing.T) {
	inst := s.started(t, s.spec(t))
	tests := []struct {
		name   string
		argv   []string
		code   int
		stderr string
	}{
		{"exit 3", []string{"/bin/sh", "-c", "exit 3"}, 3, ""},
		{"exit 1 with stderr", []string{"/bin/sh", "-c", "echo failing >&2; exit 1"}, 1, "failing\n"},
		{"exit 125", []string{"/bin/sh", "-c", "exit 125"}, 125, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, err := s.exec(inst, tc.argv...)
			var ee *driver.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("Exec %q: error %v (%T), want a *driver.ExitError", tc.argv, err, err)
			}
			if ee.Code != tc.code {
				t.Errorf("exit code %d, want %d", ee.Code, tc.code)
			}
			if errOut != tc.stderr {
				t.Errorf("stderr = %q, want %q", errOut, tc.stderr)
			}
		})
	}
	// A failed command leaves the sandbox running.
	if out := s.mustExec(t, inst, "/bin/sh", "-c", "echo alive"); out != "alive\n" {
		t.Errorf("after failed commands, stdout = %q", out)
	}
}

func (s *suite) testAgent(t *testing.T) {
	inst := s.started(t, s.spec(t))
	out := s.mustExec(t, inst, image.AgentPath, "exec", "--", "echo", "hi")
	res, err := agent.ParseResults(strings.NewReader(out))
	if err != nil {
		t.Fatalf("parsing the agent's output %q: %v", clip(out), err)
	}
	if len(res) != 1 {
		t.Fatalf("agent returned %d results, want 1: %q", len(res), clip(out))
	}
	if err := res[0].Err(); err != nil {
		t.Fatalf("agent: %v", err)
	}
	if res[0].Stdout != "hi\n" {
		t.Errorf("agent result stdout = %q, want %q", res[0].Stdout, "hi\n")
	}
	if res[0].WallNanos <= 0 {
		t.Errorf("agent result wall time %d, want > 0", res[0].WallNanos)
	}
}

func (s *suite) testStopThenClose(t *testing.T) {
	inst := s.started(t, s.spec(t))
	s.stop(t, inst)
	if err := inst.Close(); err != nil {
		t.Fatalf("Close after Stop: %v", err)
	}
}

// testPhaseBoundaries checks the meaning of the stop and delete phases
// (see the startup workload): Stop returns once the sandbox's init is
// gone, without the runtime's delete; Close does the delete.
//
//   - Every driver: after Stop, HostPIDs (driver.HostProcesses) names no
//     process, as its contract says of a sandbox that does not run, and
//     after Close none of the processes it named while running is left.
//   - With WithRuntimeState: after Stop the runtime still knows the
//     sandbox and says its init does not run; after Close it does not
//     know it.
func (s *suite) testPhaseBoundaries(t *testing.T) {
	spec := s.spec(t)
	inst := s.started(t, spec)
	before := map[int]uint64{} // pid to its start time, which names it with the pid
	hp, hasPIDs := inst.(driver.HostProcesses)
	if hasPIDs {
		pids := hp.HostPIDs()
		for _, pid := range pids {
			if st, ok := driverkit.ProcStartTime(pid); ok {
				before[pid] = st
			}
		}
		if len(pids) == 0 {
			t.Errorf("HostPIDs of a running sandbox names no process")
		}
	}
	s.stop(t, inst)
	if hasPIDs {
		if after := hp.HostPIDs(); len(after) > 0 {
			t.Errorf("after Stop, HostPIDs still names %v", after)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.commandTimeout)
	defer cancel()
	if s.cfg.runtimeState != nil {
		known, running, err := s.cfg.runtimeState(ctx, spec.ID)
		switch {
		case err != nil:
			t.Errorf("the runtime's state after Stop: %v", err)
		case !known:
			t.Errorf("after Stop the runtime no longer knows %s: Stop did the runtime's delete, which belongs to Close (the delete phase)", spec.ID)
		case running:
			t.Errorf("after Stop the runtime says the init of %s still runs", spec.ID)
		}
	} else {
		t.Logf("no runtime state given (WithRuntimeState): the runtime's record after Stop is not checked")
	}
	if err := inst.Close(); err != nil {
		t.Fatalf("Close after Stop: %v", err)
	}
	if s.cfg.runtimeState != nil {
		known, _, err := s.cfg.runtimeState(ctx, spec.ID)
		if err != nil {
			t.Errorf("the runtime's state after Close: %v", err)
		} else if known {
			t.Errorf("after Close the runtime still knows %s", spec.ID)
		}
	}
	for pid, start := range before {
		if now, ok := driverkit.ProcStartTime(pid); ok && now == start {
			t.Errorf("after Close, process %d of the sandbox still runs", pid)
		}
	}
}

func (s *suite) testStopTwice(t *testing.T) {
	inst := s.started(t, s.spec(t))
	s.stop(t, inst)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	if err := inst.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func (s *suite) testCloseTwice(t *testing.T) {
	inst := s.started(t, s.spec(t))
	if err := inst.Close(); err != nil {
		t.Fatalf("Close of a running sandbox: %v", err)
	}
	if err := inst.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	if err := inst.Stop(ctx); err != nil {
		t.Fatalf("Stop after Close: %v", err)
	}
}

func (s *suite) testCloseWithoutStart(t *testing.T) {
	inst := s.create(t, s.spec(t))
	if err := inst.Close(); err != nil {
		t.Fatalf("Close without Start: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	if err := inst.Start(ctx); err == nil {
		t.Fatal("Start after Close returned nil")
	}
}

// testRunOnce checks driver.OneShot where the driver has it: the command's
// output and exit status come back, Start is refused afterwards, and Close
// leaves nothing.
func (s *suite) testRunOnce(t *testing.T) {
	probe := s.create(t, s.spec(t))
	if _, ok := probe.(driver.OneShot); !ok {
		t.Skip("the driver's instances do not implement driver.OneShot")
	}
	cases := []struct {
		name     string
		argv     []string
		stdout   string
		exitCode int
	}{
		{"output", []string{"/bin/sh", "-c", "echo once; echo err >&2"}, "once\n", 0},
		{"exit status", []string{"/bin/sh", "-c", "exit 3"}, "", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inst := s.create(t, s.spec(t))
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
			defer cancel()
			var stdout, stderr bytes.Buffer
			before := time.Now()
			took, err := inst.(driver.OneShot).RunOnce(ctx, tc.argv, &stdout, &stderr)
			// The runtime's invocation is timed, within the call's span.
			if took <= 0 || took > time.Since(before) {
				t.Errorf("RunOnce says the runtime took %v, outside (0, %v]", took, time.Since(before))
			}
			var ee *driver.ExitError
			switch {
			case tc.exitCode == 0 && err != nil:
				t.Fatalf("RunOnce: %v (stderr %q)", err, stderr.String())
			case tc.exitCode != 0 && (!errors.As(err, &ee) || ee.Code != tc.exitCode):
				t.Fatalf("RunOnce: error %v, want *driver.ExitError with code %d", err, tc.exitCode)
			}
			if stdout.String() != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.stdout)
			}
			if err := inst.Start(ctx); err == nil {
				t.Error("Start after RunOnce returned nil")
			}
			if err := inst.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		})
	}
}

func (s *suite) testFailedStart(t *testing.T) {
	if s.cfg.noFailedStart != "" {
		t.Skip(s.cfg.noFailedStart)
	}
	img := s.variant(t, "noagent", nil)
	spec := s.spec(t)
	spec.Image = img
	inst := s.create(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	err := inst.Start(ctx)
	if err == nil {
		t.Fatal("Start of an image without the agent returned nil")
	}
	if ctx.Err() != nil {
		t.Fatalf("Start of an image without the agent ran into the timeout instead of failing: %v", err)
	}
	re := s.cfg.failedStartRE
	if re == nil {
		re = regexp.MustCompile(`(?i)(` + regexp.QuoteMeta(image.AgentPath) + `|no such file|not found)`)
	}
	if !re.MatchString(err.Error()) {
		t.Errorf("Start error does not carry the runtime's reason (want a match of %s): %v", re, err)
	}
	t.Logf("failed start says: %v", err)
	if _, _, err := s.exec(inst, "/bin/sh", "-c", "true"); err == nil {
		t.Error("Exec after a failed Start returned nil")
	}
	if err := inst.Stop(ctx); err != nil {
		t.Errorf("Stop after a failed Start: %v", err)
	}
	if err := inst.Close(); err != nil {
		t.Fatalf("Close after a failed Start: %v", err)
	}
}

// variant returns a copy of the suite's image (hard links where possible)
// whose agent is replaced by agent, or left out when agent is nil. It is
// made once per kind and removed when the suite ends.
func (s *suite) variant(t *testing.T, kind string, agent []byte) *image.Image {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if img, ok := s.variants[kind]; ok {
		return img
	}
	dir, err := os.MkdirTemp("", "isobench-drivertest-")
	if err != nil {
		t.Fatal(err)
	}
	s.cleanupDirs = append(s.cleanupDirs, dir)
	rootfs := filepath.Join(dir, "rootfs")
	if err := copyTree(s.img.Rootfs, rootfs, image.AgentPath); err != nil {
		t.Fatalf("making an image variant (%s): %v", kind, err)
	}
	if agent != nil {
		if err := os.WriteFile(filepath.Join(rootfs, image.AgentPath), agent, 0o755); err != nil {
			t.Fatalf("making an image variant (%s): %v", kind, err)
		}
	}
	img := &image.Image{ID: s.img.ID + "-" + kind, Dir: dir, Rootfs: rootfs, Manifest: s.img.Manifest}
	if s.variants == nil {
		s.variants = map[string]*image.Image{}
	}
	s.variants[kind] = img
	return img
}

func (s *suite) testHangingStart(t *testing.T) {
	if s.cfg.noHangingStart != "" {
		t.Skip(s.cfg.noHangingStart)
	}
	// An "agent" that runs but never says it is ready.
	img := s.variant(t, "hang", []byte("#!/bin/sh\nwhile :; do sleep 1; done\n"))
	spec := s.spec(t)
	spec.Image = img
	inst := s.create(t, spec)
	const limit = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	err := inst.Start(ctx)
	el := time.Since(start)
	if err == nil {
		t.Fatal("Start of a sandbox whose agent never gets ready returned nil")
	}
	t.Logf("hanging start says after %s: %v", el.Round(time.Millisecond), err)
	if el > limit+15*time.Second {
		t.Errorf("Start returned %s after its context ended", el-limit)
	}
	if _, _, err := s.exec(inst, "/bin/sh", "-c", "true"); err == nil {
		t.Error("Exec after a failed Start returned nil")
	}
	if err := inst.Close(); err != nil {
		t.Fatalf("Close after a hung Start: %v", err)
	}
}

// copyTree copies the tree at src to dst, hard-linking regular files where
// it can and leaving out skip (a path inside the tree, e.g. "/x/y").
func copyTree(src, dst, skip string) error {
	return filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if "/"+rel == skip {
			return nil
		}
		to := filepath.Join(dst, rel)
		fi, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			return os.MkdirAll(to, fi.Mode().Perm())
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case fi.Mode().IsRegular():
			if os.Link(path, to) == nil {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, fi.Mode().Perm())
		}
		return nil // devices, sockets, fifos: not needed to fail a start
	})
}

func (s *suite) testExecAfterStop(t *testing.T) {
	inst := s.started(t, s.spec(t))
	s.stop(t, inst)
	_, _, err := s.exec(inst, "/bin/sh", "-c", "echo should-not-run")
	if err == nil {
		t.Fatal("Exec after Stop returned nil")
	}
	var ee *driver.ExitError
	if errors.As(err, &ee) {
		t.Errorf("Exec after Stop returned %v, a command exit status; want an error saying the sandbox does not run", err)
	}
	if strings.Contains(err.Error(), "did not return within") {
		t.Errorf("Exec after Stop hung: %v", err)
	}
	if err := inst.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := s.exec(inst, "/bin/sh", "-c", "true"); err == nil {
		t.Error("Exec after Close returned nil")
	}
}

func (s *suite) testBadInput(t *testing.T) {
	t.Run("empty argv", func(t *testing.T) {
		inst := s.started(t, s.spec(t))
		if _, _, err := s.exec(inst); err == nil {
			t.Error("Exec of an empty command returned nil")
		}
		if out := s.mustExec(t, inst, "/bin/sh", "-c", "echo alive"); out != "alive\n" {
			t.Errorf("stdout = %q", out)
		}
	})
	tests := []struct {
		name string
		mod  func(*driver.Spec)
	}{
		{"id without prefix", func(s *driver.Spec) { s.ID = strings.TrimPrefix(s.ID, driver.IDPrefix) }},
		{"id with a slash", func(s *driver.Spec) { s.ID += "/x" }},
		{"nil image", func(s *driver.Spec) { s.Image = nil }},
		{"unknown scratch kind", func(s *driver.Spec) { s.Scratch = "floppy" }},
		{"negative cpus", func(s *driver.Spec) { s.CPUs = -1 }},
		{"negative memory", func(s *driver.Spec) { s.MemoryBytes = -1 }},
		{"missing rootfs", func(s *driver.Spec) {
			s.Image = &image.Image{ID: "missing", Dir: "/nonexistent-isobench", Rootfs: "/nonexistent-isobench/rootfs"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := s.spec(t)
			id := spec.ID
			tc.mod(&spec)
			s.expectGone(t, id)
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
			defer cancel()
			inst, err := s.d.Create(ctx, spec)
			if err == nil {
				inst.Close()
				t.Fatalf("Create accepted a spec with %s", tc.name)
			}
			t.Logf("Create says: %v", err)
		})
	}
}

func (s *suite) testParallel(t *testing.T) {
	specs := []driver.Spec{s.spec(t), s.spec(t)}
	insts := make([]driver.Instance, len(specs))
	for i, sp := range specs {
		insts[i] = s.create(t, sp)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(insts))
	for i, inst := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
			defer cancel()
			errs[i] = inst.Start(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Start of %s: %v", specs[i].ID, err)
		}
	}
	// Each writes its own mark at once; each sees only its own.
	for i, inst := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := driver.ScratchDir(inst)
			_, _, errs[i] = s.exec(inst, "/bin/sh", "-c", fmt.Sprintf("echo %s > %s/mark-%d", specs[i].ID, dir, i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writing a mark in %s: %v", specs[i].ID, err)
		}
	}
	for i, inst := range insts {
		dir := driver.ScratchDir(inst)
		out := s.mustExec(t, inst, "/bin/sh", "-c", "cat "+dir+"/mark-*")
		if out != specs[i].ID+"\n" {
			t.Errorf("%s sees marks %q, want only its own", specs[i].ID, out)
		}
	}
	s.stop(t, insts[0])
	if out := s.mustExec(t, insts[1], "/bin/sh", "-c", "echo alive"); out != "alive\n" {
		t.Errorf("after stopping the other sandbox, stdout = %q", out)
	}
}

func (s *suite) testScratch(t *testing.T) {
	for _, kind := range []string{driver.ScratchRootfs, driver.ScratchVolume, driver.ScratchTmpfs} {
		t.Run(kind, func(t *testing.T) {
			if reason, ok := s.cfg.noScratch[kind]; ok {
				t.Skip(reason)
			}
			spec := s.spec(t)
			spec.Scratch = kind
			inst := s.started(t, spec)
			dir := driver.ScratchDir(inst)
			out := s.mustExec(t, inst, "/bin/sh", "-c", "echo isobench-scratch > "+dir+"/f && cat "+dir+"/f")
			if out != "isobench-scratch\n" {
				t.Fatalf("read back %q from the scratch file", out)
			}
			// 1 MiB through the scratch directory.
			out = s.mustExec(t, inst, "/bin/sh", "-c", "dd if=/dev/zero of="+dir+"/big bs=4096 count=256 2>/dev/null && wc -c < "+dir+"/big")
			if strings.TrimSpace(out) != "1048576" {
				t.Errorf("wrote 1 MiB, size reads %q", strings.TrimSpace(out))
			}
			mounts := s.mustExec(t, inst, "/bin/sh", "-c", "cat /proc/mounts")
			fstype, mounted := mountAt(mounts, dir)
			switch kind {
			case driver.ScratchTmpfs:
				if !mounted || fstype != "tmpfs" {
					t.Errorf("tmpfs scratch: %s is mounted=%v type %q, want tmpfs; /proc/mounts:\n%s", dir, mounted, fstype, mounts)
				}
			case driver.ScratchVolume:
				if !mounted {
					t.Errorf("volume scratch: nothing mounted at %s; /proc/mounts:\n%s", dir, mounts)
				}
			case driver.ScratchRootfs:
				if mounted {
					t.Errorf("rootfs scratch: %s is a mount (type %s), want the root filesystem's own directory", dir, fstype)
				}
			}
		})
	}
}

// mountAt returns the type of the last mount at point in a /proc/mounts text.
func mountAt(mounts, point string) (fstype string, ok bool) {
	for _, line := range strings.Split(mounts, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == point {
			fstype, ok = f[2], true
		}
	}
	return fstype, ok
}

func (s *suite) testNoNetwork(t *testing.T) {
	if s.cfg.noNetIso != "" {
		t.Skip(s.cfg.noNetIso)
	}
	spec := s.spec(t)
	spec.Network = false
	inst := s.started(t, spec)
	out, _, err := s.exec(inst, "/bin/sh", "-c", "cat /proc/net/dev")
	var ifaces []string
	if err == nil {
		ifaces = netDevInterfaces(out)
	} else {
		out = s.mustExec(t, inst, "/bin/sh", "-c", "ls /sys/class/net")
		ifaces = strings.Fields(out)
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Errorf("network interfaces %q, want only lo", ifaces)
	}
}

// netDevInterfaces reads interface names from /proc/net/dev.
func netDevInterfaces(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		name, _, ok := strings.Cut(line, ":")
		if !ok || strings.Contains(name, "|") {
			continue
		}
		out = append(out, strings.TrimSpace(name))
	}
	return out
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
