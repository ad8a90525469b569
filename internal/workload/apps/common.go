package apps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/workload"
)

// Where the client of a server workload runs (parameter client).
const (
	ClientHost   = "host"
	ClientInside = "inside"
)

// Bounds of the parameters the server workloads share.
const (
	maxConnections  = 10_000
	maxReadyTimeout = 3600
	maxWarmup       = 600
)

// intRange is one integer parameter's bounds.
type intRange struct {
	name   string
	lo, hi int64
}

// ints reads the integer parameters of p within their bounds.
func ints(p map[string]string, ranges ...intRange) (map[string]int64, error) {
	out := map[string]int64{}
	for _, r := range ranges {
		v, err := workload.IntParam(p, r.name, r.lo, r.hi)
		if err != nil {
			return nil, err
		}
		out[r.name] = v
	}
	return out, nil
}

// choice checks that parameter name is one of choices.
func choice(p map[string]string, name string, choices ...string) (string, error) {
	for _, c := range choices {
		if p[name] == c {
			return c, nil
		}
	}
	return "", fmt.Errorf("parameter %s: %q is not one of %s", name, p[name], strings.Join(choices, ", "))
}

// hostProgram returns the host path of the named program, looked up in
// the standard command directories the workload image is built from, or
// "" when the host has none.
func hostProgram(name string) string {
	for _, d := range strings.Split(image.DefaultPath, ":") {
		p := path.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// needPrograms says which of the programs the host lacks: those the
// sandbox runs come from the workload image, built from the host's
// files, so a program the host lacks is one the image lacks too.
func needPrograms(runtime string, names ...string) error {
	var missing []string
	for _, n := range names {
		if hostProgram(n) == "" {
			missing = append(missing, n)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return driver.NotSupported(runtime, "%s is not installed on this host, so neither the host nor the workload image built from its files has it (isobench setup installs it)", missing[0])
	}
	return driver.NotSupported(runtime, "%s are not installed on this host, so neither the host nor the workload image built from its files has them (isobench setup installs them)", strings.Join(missing, " and "))
}

// needNetwork refuses a runtime whose driver gives a sandbox no network
// link, which a client on the host needs.
func needNetwork(info driver.Info) error {
	if info.Features[driver.FeatureNetwork] == "" {
		why := "its driver gives a sandbox no network link to the host (Spec.Network)"
		if r := info.Features[driver.FeatureNetworkRefused]; r != "" {
			why = "no network link to the host here: " + r
		}
		return driver.NotSupported(info.Name, "%s, which client=host needs; client=inside runs the client in the sandbox instead", why)
	}
	return nil
}

// needServer is the Check of a server workload whose client runs where
// client says: a network link for a client on the host, and programs.
func needServer(info driver.Info, client string, programs ...string) error {
	if client == ClientHost {
		if err := needNetwork(info); err != nil {
			return err
		}
	}
	return needPrograms(info.Name, programs...)
}

// sandbox is one fresh sandbox of a server workload's trial.
type sandbox struct {
	inst    driver.Instance
	in      *workload.Target
	scratch string
	// link is the sandbox's network link; ok is false without one.
	link   driver.Network
	linked bool
}

// openSandbox makes and starts a fresh sandbox of t's runtime, with a
// network link when the driver offers one (client=host needs it; a
// client inside then runs in the sandbox's own network namespace, so
// that its server's port clashes with nothing, the host baseline's
// included). close stops and frees it.
func openSandbox(ctx context.Context, t *workload.Target, rec workload.Recorder, needLink bool) (sb *sandbox, closeFn func() error, err error) {
	if t.Driver == nil || t.NewSpec == nil {
		return nil, nil, errors.New("the runner gave no driver to make sandboxes with")
	}
	spec := t.NewSpec()
	spec.Network = t.Runtime.Features[driver.FeatureNetwork] != ""
	if needLink && !spec.Network {
		return nil, nil, needNetwork(t.Runtime)
	}
	inst, err := t.Driver.Create(ctx, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("creating a sandbox: %w", err)
	}
	closeFn = func() error {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := errors.Join(inst.Stop(sctx), inst.Close()); err != nil {
			return fmt.Errorf("freeing the sandbox: %w", err)
		}
		return nil
	}
	sb = &sandbox{inst: inst}
	if err := inst.Start(ctx); err != nil {
		return nil, nil, errors.Join(fmt.Errorf("starting the sandbox: %w", err), closeFn())
	}
	if spec.Network {
		// Asked after Start: an engine's daemon names the address only
		// when the container starts.
		nw, ok := inst.(driver.Networker)
		if ok {
			sb.link, sb.linked = nw.Network()
		}
		if !sb.linked {
			return nil, nil, errors.Join(fmt.Errorf("the %s driver made a sandbox without the network asked for", t.Runtime.Name), closeFn())
		}
		rec.Attr("net.link", fmt.Sprintf("%s %s (host %s) <-> %s", sb.link.Kind, sb.link.HostDevice, sb.link.HostAddr, sb.link.SandboxAddr))
		if sb.link.Path != "" {
			rec.Attr("net.path", sb.link.Path)
		}
		if sb.link.Note != "" {
			rec.Attr("net.note", sb.link.Note)
		}
	} else {
		rec.Attr("net.link", "none: the sandbox's own loopback")
	}
	sb.in = &workload.Target{Runtime: t.Runtime, Instance: inst, Params: t.Params}
	sb.scratch = driver.ScratchDir(inst)
	return sb, closeFn, nil
}

// openServerSandbox begins the trial of server workload name: the path
// of its client program prog on the host when client is host ("" when
// the client runs inside; one the host lacks fails, saying what
// installs it), then a fresh sandbox from openSandbox. Its errors, and
// those of closeFn, start with name.
func openServerSandbox(ctx context.Context, t *workload.Target, rec workload.Recorder, name, client, prog, installs string) (sb *sandbox, hostProg string, closeFn func() error, err error) {
	if client == ClientHost {
		if hostProg = hostProgram(prog); hostProg == "" {
			return nil, "", nil, fmt.Errorf("%s: %s is not installed on the host (isobench setup installs %s)", name, prog, installs)
		}
	}
	sb, closeSB, err := openSandbox(ctx, t, rec, client == ClientHost)
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s: %w", name, err)
	}
	closeFn = func() error {
		if err := closeSB(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	return sb, hostProg, closeFn, nil
}

// writeFile writes text to the file at p inside the sandbox (through the
// image's busybox sh: the agent takes no input).
func writeFile(ctx context.Context, in *workload.Target, p, text string) error {
	_, err := in.MustRun(ctx, agent.Request{Argv: []string{"sh", "-c", `printf '%s' "$1" > "$2"`, "sh", text, p}, Timeout: time.Minute})
	if err != nil {
		return fmt.Errorf("writing %s in the sandbox: %w", p, err)
	}
	return nil
}

// pinning is where a trial's client and server run: host CPU numbers,
// -1 when not pinned.
type pinning struct {
	client, server int
	// inSandbox: the server (and an inside client) are pinned with
	// taskset in the sandbox, whose CPUs are the host's (shared kernel);
	// hostThreads: the sandbox's host processes are pinned from the host
	// (gVisor, VMs), once the server runs.
	inSandbox, hostThreads bool
}

// prefix returns taskset's argv that pins a command in the sandbox to
// cpu, or nothing.
func (p pinning) prefix(cpu int) []string {
	if !p.inSandbox || cpu < 0 {
		return nil
	}
	return []string{"taskset", "-c", strconv.Itoa(cpu)}
}

// planPinning decides the trial's pinning (parameter pin): on a host
// where isobench may use two CPUs or more, the client on the first and
// the server on the second. A sandbox on the host's kernel (the host
// baseline, containers, system containers) pins its server with the
// image's taskset, checked first; a sandbox whose CPUs are virtual
// (gVisor, VMs) has its host processes pinned from the host when the
// client is on the host and the driver names them, and is otherwise
// left alone. What was pinned is recorded (pin.client, pin.server).
func planPinning(ctx context.Context, mode string, info driver.Info, sb *sandbox, client string, rec workload.Recorder) pinning {
	p := pinning{client: -1, server: -1}
	if mode == "off" {
		rec.Attr("pin.client", "not pinned (pin=off)")
		rec.Attr("pin.server", "not pinned (pin=off)")
		return p
	}
	var set unix.CPUSet
	var cpus []int
	if err := unix.SchedGetaffinity(0, &set); err == nil {
		for c := 0; c < len(set)*64 && len(cpus) < 2; c++ {
			if set.IsSet(c) {
				cpus = append(cpus, c)
			}
		}
	}
	if len(cpus) < 2 {
		rec.Attr("pin.client", "not pinned: isobench may use one CPU only")
		rec.Attr("pin.server", "not pinned: isobench may use one CPU only")
		return p
	}
	switch info.Isolation {
	case driver.IsolationNone, driver.IsolationContainer, driver.IsolationSystem:
		argv := []string{"taskset", "-c", strconv.Itoa(cpus[1]), "true"}
		if _, err := sb.in.MustRun(ctx, agent.Request{Argv: argv, Timeout: time.Minute}); err != nil {
			rec.Attr("pin.server", "not pinned: taskset in the sandbox failed: "+clip(err.Error(), 200))
			break
		}
		p.inSandbox, p.server = true, cpus[1]
		rec.Attr("pin.server", fmt.Sprintf("cpu %d (taskset in the sandbox)", cpus[1]))
	default:
		if _, ok := sb.inst.(driver.HostProcesses); ok && client == ClientHost {
			p.hostThreads, p.server = true, cpus[1]
			// Recorded once the threads are pinned (pinHostThreads).
		} else {
			rec.Attr("pin.server", fmt.Sprintf("not pinned: the sandbox's CPUs are virtual (%s) and its host processes are not pinned with the client inside", info.Isolation))
		}
	}
	p.client = cpus[0]
	if client == ClientInside {
		if p.inSandbox {
			rec.Attr("pin.client", fmt.Sprintf("cpu %d (taskset in the sandbox)", cpus[0]))
		} else {
			p.client = -1
			rec.Attr("pin.client", "not pinned: in a sandbox whose CPUs are virtual")
		}
	} else {
		rec.Attr("pin.client", fmt.Sprintf("cpu %d (sched_setaffinity on the host)", cpus[0]))
	}
	return p
}

// pinHostThreads pins every thread of the sandbox's host processes, and
// of their child processes, to the server's CPU (threads made later
// inherit it), and records how many.
func pinHostThreads(sb *sandbox, p pinning, rec workload.Recorder) {
	if !p.hostThreads {
		return
	}
	hp := sb.inst.(driver.HostProcesses)
	var set unix.CPUSet
	set.Set(p.server)
	seen := map[int]bool{}
	var pinned, failed int
	var walk func(pid int)
	walk = func(pid int) {
		if seen[pid] || len(seen) > 10_000 {
			return
		}
		seen[pid] = true
		tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		for _, tk := range tasks {
			tid, err := strconv.Atoi(tk.Name())
			if err != nil {
				continue
			}
			if unix.SchedSetaffinity(tid, &set) == nil {
				pinned++
			} else {
				failed++
			}
			kids, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + tk.Name() + "/children")
			for _, f := range strings.Fields(string(kids)) {
				if c, err := strconv.Atoi(f); err == nil {
					walk(c)
				}
			}
		}
	}
	for _, pid := range hp.HostPIDs() {
		walk(pid)
	}
	rec.Attr("pin.server", fmt.Sprintf("cpu %d: %d threads of the sandbox's %d host processes (sched_setaffinity on the host; %d failed)", p.server, pinned, len(seen), failed))
}

// startPinned starts cmd on the host with its CPU affinity set to cpu
// (none when cpu < 0): the forking thread is pinned for the fork, whose
// child inherits it, and set back after. A thread that cannot be set
// back is left locked, so that the Go runtime ends it.
func startPinned(cmd *exec.Cmd, cpu int) error {
	if cpu < 0 {
		return cmd.Start()
	}
	runtime.LockOSThread()
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("reading the CPU affinity: %w", err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("pinning to CPU %d: %w", cpu, err)
	}
	err := cmd.Start()
	if unix.SchedSetaffinity(0, &old) == nil {
		runtime.UnlockOSThread()
	}
	return err
}

// hostRun runs a client program on the host, pinned to cpu, with a time
// limit, and returns its standard output (bounded) and an error that
// carries the tail of its standard error.
func hostRun(ctx context.Context, limit time.Duration, cpu int, prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = []string{"PATH=" + image.DefaultPath, "LC_ALL=C"}
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr tailBuffer
	stdout.limit, stderr.limit = 1<<20, 4096
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := startPinned(cmd, cpu); err != nil {
		return "", fmt.Errorf("starting %s on the host: %w", prog, err)
	}
	err := cmd.Wait()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.String(), fmt.Errorf("%s on the host: %w: %s", path.Base(prog), err, agent.Printable(clip(msg, 1000)))
	}
	return stdout.String(), nil
}

// tailBuffer keeps the first limit bytes written to it.
type tailBuffer struct {
	b     strings.Builder
	limit int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	if room := t.limit - t.b.Len(); room > 0 {
		t.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.b.String() }

// clip shortens a text from outside for a message, keeping its end.
func clip(s string, n int) string {
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return agent.Printable(s)
}
