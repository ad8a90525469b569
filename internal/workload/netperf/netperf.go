package netperf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

// Ports the servers listen on inside the sandbox (its own network
// namespace or guest, so they clash with nothing).
const (
	IperfPort = 5201
	PongPort  = 5202
)

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
		{Name: "retransmits", Unit: workload.UnitCount, Label: "TCP retransmits (both ways)"},
	}
}

type config struct {
	seconds, rounds, connects int
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
	return c, nil
}

// Check implements workload.Workload: the runtime's driver must offer a
// sandbox network (driver.FeatureNetwork).
func (Workload) Check(info driver.Info, p map[string]string) error {
	if _, err := parse(p); err != nil {
		return err
	}
	if info.Features[driver.FeatureNetwork] == "" {
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
// latency test, then iperf3 both ways, each server in the sandbox and each
// client on the host.
func (Workload) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) (err error) {
	c, err := parse(t.Params)
	if err != nil {
		return err
	}
	if t.Driver == nil || t.NewSpec == nil {
		return errors.New("net: the runner gave no driver to make sandboxes with")
	}
	client, err := exec.LookPath("iperf3")
	if err != nil {
		return errors.New("net: iperf3 is not installed on the host (isobench setup installs it)")
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
	link, ok := nw.Network()
	if !ok {
		return fmt.Errorf("net: the %s driver made a sandbox without the network asked for", t.Runtime.Name)
	}
	rec.Attr("net.link", fmt.Sprintf("%s %s (host %s) <-> %s", link.Kind, link.HostDevice, link.HostAddr, link.SandboxAddr))
	if link.Note != "" {
		rec.Attr("net.note", link.Note)
	}
	if err := inst.Start(ctx); err != nil {
		return fmt.Errorf("net: starting the sandbox: %w", err)
	}
	in := &workload.Target{Runtime: t.Runtime, Instance: inst}

	pp, err := latency(ctx, in, netip.AddrPortFrom(link.SandboxAddr, PongPort), c)
	if err != nil {
		return fmt.Errorf("net: latency: %w", err)
	}
	to, err := throughput(ctx, in, client, link.SandboxAddr, c.seconds, false, rec)
	if err != nil {
		return fmt.Errorf("net: throughput host → sandbox: %w", err)
	}
	from, err := throughput(ctx, in, client, link.SandboxAddr, c.seconds, true, rec)
	if err != nil {
		return fmt.Errorf("net: throughput sandbox → host: %w", err)
	}
	rec.Sample("to_sandbox", to.ReceivedBytesPerSec)
	rec.Sample("from_sandbox", from.ReceivedBytesPerSec)
	rtts := seconds(pp.RTTs)
	rec.Sample("rtt", quantile(rtts, 0.5))
	rec.Sample("rtt_p99", quantile(rtts, 0.99))
	if len(pp.Connects) > 0 {
		rec.Sample("connect", quantile(seconds(pp.Connects), 0.5))
	}
	if to.Retransmits >= 0 && from.Retransmits >= 0 {
		rec.Sample("retransmits", float64(to.Retransmits+from.Retransmits))
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

// throughput runs iperf3's server in the sandbox (one test, then it exits)
// and its client on the host, retrying while the server does not listen.
func throughput(ctx context.Context, in *workload.Target, client string, addr netip.Addr, secs int, reverse bool, rec workload.Recorder) (IperfResult, error) {
	tctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+3*time.Minute)
	defer cancel()
	type served struct {
		res agent.Result
		err error
	}
	done := make(chan served, 1)
	go func() {
		res, err := in.Run(tctx, agent.Request{
			Argv:    []string{"iperf3", "-s", "-1", "-p", strconv.Itoa(IperfPort)},
			Timeout: time.Duration(secs)*time.Second + 2*time.Minute,
		})
		done <- served{res, err}
	}()
	args := []string{"-c", addr.String(), "-p", strconv.Itoa(IperfPort), "-t", strconv.Itoa(secs), "-J"}
	name := "iperf3.to_sandbox.json"
	if reverse {
		args = append(args, "-R")
		name = "iperf3.from_sandbox.json"
	}
	var res IperfResult
	var err error
	delay := 20 * time.Millisecond
	for {
		var out bytes.Buffer
		cmd := exec.CommandContext(tctx, client, args...)
		cmd.Stdout = &out
		runErr := cmd.Run()
		res, err = ParseIperf(out.String())
		if errors.Is(err, ErrIperfRefused) && tctx.Err() == nil {
			select {
			case <-time.After(delay):
				delay = min(2*delay, 500*time.Millisecond)
				continue
			case <-tctx.Done():
			}
		}
		rec.Raw(name, out.String())
		if err == nil && runErr != nil {
			err = fmt.Errorf("iperf3 client: %w", runErr)
		}
		break
	}
	if err != nil {
		cancel()
		s := <-done
		if said := strings.TrimSpace(s.res.Stdout + " " + s.res.Stderr); said != "" {
			err = fmt.Errorf("%w (the sandbox's iperf3 server said: %s)", err, agent.Printable(clip(said)))
		} else if s.err != nil {
			err = fmt.Errorf("%w (the sandbox's iperf3 server: %v)", err, s.err)
		}
		return res, err
	}
	s := <-done
	if s.err == nil {
		s.err = s.res.Err()
	}
	if s.err != nil {
		return res, fmt.Errorf("the sandbox's iperf3 server: %w", s.err)
	}
	if res.Reverse != reverse {
		return res, fmt.Errorf("iperf3 report: reverse is %v, asked for %v", res.Reverse, reverse)
	}
	return res, nil
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
