package netperf

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/workload"
)

// PongPort is the port the latency test's server listens on inside the
// sandbox (its own network namespace or guest, so it clashes with
// nothing).
const PongPort = 5202

// Workload is the net workload.
type Workload struct{}

var (
	_ workload.Workload       = Workload{}
	_ workload.SandboxMaker   = Workload{}
	_ workload.TrialTimeouter = Workload{}
)

// Name implements workload.Workload.
func (Workload) Name() string { return "net" }

// Doc implements workload.Workload.
func (Workload) Doc() string {
	return "network between the host and the sandbox over a link isobench makes: iperf3 TCP throughput both ways, round-trip and connect latency"
}

// MakesSandboxes implements workload.SandboxMaker: the sandbox needs a
// network, which the runner's sandboxes do not have.
func (Workload) MakesSandboxes() bool { return true }

// Params implements workload.Workload.
func (Workload) Params() []workload.Param {
	return []workload.Param{
		{Name: "time", Default: "10", Doc: "seconds of each iperf3 throughput test (host to sandbox, then sandbox to host)", Profiles: map[string]string{"quick": "3"}},
		{Name: "rounds", Default: "10000", Doc: "round trips of one byte on one TCP connection for the latency figures", Profiles: map[string]string{"quick": "2000"}},
		{Name: "connects", Default: "200", Doc: "TCP connections opened and closed for the connect figure", Profiles: map[string]string{"quick": "50"}},
		{Name: "tool", Default: "agent", Doc: "throughput test: agent (one TCP stream between isobench and the agent, timed on the host; works on every runtime) or iperf3 (server on the host end, client in the sandbox; iperf3 3.12 fails under gVisor's hostinet)"},
	}
}

// Metrics implements workload.Workload.
func (Workload) Metrics() []workload.Metric {
	return []workload.Metric{
		{Name: "to_sandbox", Unit: workload.UnitBytesPerSec, Label: "host → sandbox", HigherIsBetter: true, Headline: true},
		{Name: "from_sandbox", Unit: workload.UnitBytesPerSec, Label: "sandbox → host", HigherIsBetter: true, Headline: true},
		{Name: "rtt", Unit: workload.UnitSeconds, Label: "round trip (median)", Headline: true},
		{Name: "rtt_p99", Unit: workload.UnitSeconds, Label: "round trip p99"},
		{Name: "connect", Unit: workload.UnitSeconds, Label: "TCP connect (median)", Headline: true},
		{Name: "retransmits", Unit: workload.UnitCount, Label: "TCP retransmits (both ways, iperf3)"},
	}
}

type config struct {
	seconds, rounds, connects int
	tool                      string
}

func parse(p map[string]string) (config, error) {
	var c config
	for _, f := range []struct {
		name   string
		dst    *int
		lo, hi int
	}{{"time", &c.seconds, 1, 3600}, {"rounds", &c.rounds, 1, 10_000_000}, {"connects", &c.connects, 0, 1_000_000}} {
		v, err := strconv.Atoi(p[f.name])
		if err != nil || v < f.lo || v > f.hi {
			return c, fmt.Errorf("parameter %s: %q is not a number from %d to %d", f.name, p[f.name], f.lo, f.hi)
		}
		*f.dst = v
	}
	c.tool = p["tool"]
	if c.tool != "agent" && c.tool != "iperf3" {
		return c, fmt.Errorf("parameter tool: %q is not agent or iperf3", c.tool)
	}
	return c, nil
}

// Check implements workload.Workload: the runtime's driver must offer a
// sandbox network (driver.FeatureNetwork).
func (Workload) Check(info driver.Info, p map[string]string) error {
	if _, err := parse(p); err != nil {
		return err
	}
	if info.Features[driver.FeatureNetwork] == "" {
		if why := info.Features[driver.FeatureNetworkRefused]; why != "" {
			return driver.NotSupported(info.Name, "no sandbox network link to the host here: %s", why)
		}
		return driver.NotSupported(info.Name, "its driver gives a sandbox no network link to the host (Spec.Network)")
	}
	return nil
}

// TrialTimeout implements workload.TrialTimeouter.
func (Workload) TrialTimeout(p map[string]string) time.Duration {
	c, err := parse(p)
	if err != nil {
		return 0
	}
	return time.Duration(2*c.seconds)*time.Second + time.Duration(c.rounds+c.connects)*5*time.Millisecond + 8*time.Minute
}

// Run implements workload.Workload: a fresh sandbox with a network, the
// latency test (server in the sandbox, client on the host), then iperf3
// both ways (server on the host's end of the link, client in the sandbox).
func (Workload) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) (err error) {
	c, err := parse(t.Params)
	if err != nil {
		return err
	}
	if t.Driver == nil || t.NewSpec == nil {
		return errors.New("net: the runner gave no driver to make sandboxes with")
	}
	var iperf string
	if c.tool == "iperf3" {
		if iperf, err = exec.LookPath("iperf3"); err != nil {
			return errors.New("net: iperf3 is not installed on the host (isobench setup installs it)")
		}
	}
	spec := t.NewSpec()
	spec.Network = true
	inst, err := t.Driver.Create(ctx, spec)
	if err != nil {
		return fmt.Errorf("net: creating a sandbox with a network: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if cerr := errors.Join(inst.Stop(sctx), inst.Close()); cerr != nil {
			err = errors.Join(err, fmt.Errorf("net: freeing the sandbox: %w", cerr))
		}
	}()
	nw, ok := inst.(driver.Networker)
	if !ok {
		return fmt.Errorf("net: the %s driver made a sandbox with a network but cannot say its link", t.Runtime.Name)
	}
	if err := inst.Start(ctx); err != nil {
		return fmt.Errorf("net: starting the sandbox: %w", err)
	}
	// Asked after Start: an engine's daemon names the address at start.
	link, ok := nw.Network()
	if !ok {
		return fmt.Errorf("net: the %s driver made a sandbox without the network asked for", t.Runtime.Name)
	}
	rec.Attr("net.link", fmt.Sprintf("%s %s (host %s) <-> %s", link.Kind, link.HostDevice, link.HostAddr, link.SandboxAddr))
	if link.Path != "" {
		rec.Attr("net.path", link.Path)
	}
	if link.Note != "" {
		rec.Attr("net.note", link.Note)
	}
	in := &workload.Target{Runtime: t.Runtime, Instance: inst}

	pp, err := latency(ctx, in, netip.AddrPortFrom(link.SandboxAddr, PongPort), c)
	if err != nil {
		return fmt.Errorf("net: latency: %w", err)
	}
	if c.tool == "iperf3" {
		to, err := throughput(ctx, in, iperf, link.HostAddr.Addr(), link.SandboxAddr, c.seconds, true, rec)
		if err != nil {
			return fmt.Errorf("net: throughput host → sandbox: %w", err)
		}
		from, err := throughput(ctx, in, iperf, link.HostAddr.Addr(), link.SandboxAddr, c.seconds, false, rec)
		if err != nil {
			return fmt.Errorf("net: throughput sandbox → host: %w", err)
		}
		rec.Sample("to_sandbox", to.ReceivedBytesPerSec)
		rec.Sample("from_sandbox", from.ReceivedBytesPerSec)
		if to.Retransmits >= 0 && from.Retransmits >= 0 {
			rec.Sample("retransmits", float64(to.Retransmits+from.Retransmits))
		}
	} else {
		d := time.Duration(c.seconds) * time.Second
		to, err := agentStream(ctx, in, link.HostAddr.Addr(), d, true)
		if err != nil {
			return fmt.Errorf("net: throughput host → sandbox: %w", err)
		}
		from, err := agentStream(ctx, in, link.HostAddr.Addr(), d, false)
		if err != nil {
			return fmt.Errorf("net: throughput sandbox → host: %w", err)
		}
		rec.Sample("to_sandbox", to.Rate())
		rec.Sample("from_sandbox", from.Rate())
	}
	rtts := seconds(pp.RTTs)
	rec.Sample("rtt", quantile(rtts, 0.5))
	rec.Sample("rtt_p99", quantile(rtts, 0.99))
	if len(pp.Connects) > 0 {
		rec.Sample("connect", quantile(seconds(pp.Connects), 0.5))
	}
	return nil
}

// latency runs the agent's pong server in the sandbox and the ping-pong
// client on the host.
func latency(ctx context.Context, in *workload.Target, addr netip.AddrPort, c config) (PingPong, error) {
	lctx, cancel := context.WithTimeout(ctx, time.Duration(c.rounds+c.connects)*5*time.Millisecond+2*time.Minute)
	defer cancel()
	type served struct {
		out string
		err error
	}
	done := make(chan served, 1)
	go func() {
		argv := []string{image.AgentPath, "pong", "-listen", ":" + strconv.Itoa(PongPort),
			"-conns", strconv.Itoa(c.connects + 1), "-timeout", (time.Duration(c.rounds+c.connects)*5*time.Millisecond + time.Minute).String()}
		var stdout, stderr bytes.Buffer
		err := in.Instance.Exec(lctx, argv, &stdout, &stderr)
		if err != nil && stderr.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, agent.Printable(clip(stderr.String())))
		}
		done <- served{stdout.String(), err}
	}()
	pp, err := RunPingPong(lctx, addr, c.connects, c.rounds)
	if err != nil {
		cancel()
		s := <-done
		return pp, errors.Join(err, s.err)
	}
	s := <-done
	if s.err != nil {
		return pp, fmt.Errorf("the sandbox's pong server: %w", s.err)
	}
	if !strings.Contains(s.out, `"type":"pong"`) {
		return pp, fmt.Errorf("the sandbox's pong server said %q", clip(s.out))
	}
	return pp, nil
}

// throughput runs iperf3's server on the host, bound to the link's host
// address (one test, then it exits), and its client in the sandbox:
// reverse (-R) has the host send. (The server is the host's because
// iperf3 3.12's server fails under gVisor's hostinet, unable to read the
// client's parameters; its client does not.)
func throughput(ctx context.Context, in *workload.Target, server string, host netip.Addr, sandbox netip.Addr, secs int, reverse bool, rec workload.Recorder) (IperfResult, error) {
	tctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+3*time.Minute)
	defer cancel()
	port, err := freePort(host)
	if err != nil {
		return IperfResult{}, err
	}
	srv := exec.CommandContext(tctx, server, "-s", "-1", "--forceflush", "-B", host.String(), "-p", strconv.Itoa(port))
	srvOut, err := srv.StdoutPipe()
	if err != nil {
		return IperfResult{}, err
	}
	var srvErr bytes.Buffer
	srv.Stderr = &srvErr
	srv.WaitDelay = 5 * time.Second
	if err := srv.Start(); err != nil {
		return IperfResult{}, fmt.Errorf("starting the host's iperf3 server: %w", err)
	}
	srvDone := make(chan error, 1)
	listening := make(chan struct{})
	var said bytes.Buffer
	go func() {
		sc := bufio.NewScanner(srvOut)
		ready := false
		for sc.Scan() {
			if said.Len() < 4096 {
				said.WriteString(sc.Text() + "\n")
			}
			if !ready && strings.Contains(sc.Text(), "Server listening") {
				ready = true
				close(listening)
			}
		}
		if !ready {
			close(listening)
		}
		srvDone <- srv.Wait()
	}()
	select {
	case <-listening:
	case <-tctx.Done():
		<-srvDone
		return IperfResult{}, fmt.Errorf("the host's iperf3 server did not say it listens: %w", tctx.Err())
	}
	argv := []string{"iperf3", "-c", host.String(), "-p", strconv.Itoa(port), "-t", strconv.Itoa(secs), "-J"}
	name := "iperf3.from_sandbox.json"
	if reverse {
		argv = append(argv, "-R")
		name = "iperf3.to_sandbox.json"
	}
	res, runErr := in.Run(tctx, agent.Request{Argv: argv, Timeout: time.Duration(secs)*time.Second + 2*time.Minute})
	rec.Raw(name, res.Stdout)
	var ir IperfResult
	if runErr == nil {
		ir, err = ParseIperf(res.Stdout)
		if err == nil {
			err = res.Err()
		}
	} else {
		err = runErr
	}
	if err != nil {
		cancel()
		<-srvDone
		return ir, fmt.Errorf("%w (the host's iperf3 server said: %s)", err, agent.Printable(clip(strings.TrimSpace(said.String()+" "+srvErr.String()))))
	}
	if werr := <-srvDone; werr != nil {
		return ir, fmt.Errorf("the host's iperf3 server: %w: %s", werr, agent.Printable(clip(srvErr.String())))
	}
	if len(ir.Warnings) > 0 {
		rec.Attr(strings.TrimSuffix(name, ".json")+".warnings", strings.Join(ir.Warnings, "; "))
	}
	if ir.Reverse != reverse {
		return ir, fmt.Errorf("iperf3 report: reverse is %v, asked for %v", ir.Reverse, reverse)
	}
	return ir, nil
}

// freePort returns a TCP port free on addr right now.
func freePort(addr netip.Addr) (int, error) {
	ln, err := net.Listen("tcp4", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", addr, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// quantile is the q-quantile of xs by linear interpolation between order
// statistics (Hyndman and Fan's definition 7, as package stats uses).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	h := q * float64(len(s)-1)
	lo := int(h)
	if lo+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}
