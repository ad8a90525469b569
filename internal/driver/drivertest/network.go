package drivertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
)

// testNetwork checks the contract of Spec.Network (see driver.Network): a
// driver that cannot give a network says so with ErrNotSupported (the
// subtest skips with its reason); one that can implements driver.Networker,
// gives the sandbox one device besides lo, on a /30 shared with a host
// device (kinds veth and tap), on the subnet of an engine's bridge (kind
// bridge) or a cluster's pod network this host routes to (kind cni), or
// shares the host's network namespace (kind host: host and sandbox meet
// on lo), over which the host reaches a listener in the sandbox and the
// sandbox a listener on the host end (and is seen from the sandbox
// address). After Close nothing of the link is left on the host: its host
// device (veth, tap) or its port on the bridge, its network namespace,
// any iptables rule naming its address or device.
func (s *suite) testNetwork(t *testing.T) {
	spec := s.spec(t)
	spec.Network = true
	s.expectGone(t, spec.ID)
	before := snapshotHostNet()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	inst, err := s.d.Create(ctx, spec)
	if errors.Is(err, driver.ErrNotSupported) {
		t.Skipf("no sandbox network: %v", err)
	}
	if err != nil {
		t.Fatalf("Create(%s) with a network: %v", spec.ID, err)
	}
	t.Cleanup(func() {
		if err := inst.Close(); err != nil {
			t.Errorf("Close(%s) in cleanup: %v", spec.ID, err)
		}
	})
	nw, ok := inst.(driver.Networker)
	if !ok {
		t.Fatalf("an instance made with Spec.Network does not implement driver.Networker")
	}
	s.start(t, inst)
	n, ok := nw.Network()
	if !ok {
		t.Fatal("Network() of a started instance made with Spec.Network says it has none")
	}
	if err := checkLink(n); err != nil {
		t.Fatal(err)
	}
	if _, err := net.InterfaceByName(n.HostDevice); err != nil {
		t.Fatalf("host device %s of the link: %v", n.HostDevice, err)
	}
	t.Logf("link: %s %s (host %s) <-> %s", n.Kind, n.HostDevice, n.HostAddr, n.SandboxAddr)
	if n.Path != "" {
		t.Logf("link path: %s", n.Path)
	}
	if n.Note != "" {
		t.Logf("link note: %s", n.Note)
	}
	var bridgePorts []string
	if n.Kind == "bridge" {
		bridgePorts = portsOf(n.HostDevice)
	}

	out, _, err := s.exec(inst, "/bin/sh", "-c", "cat /proc/net/dev")
	var ifaces []string
	if err == nil {
		ifaces = netDevInterfaces(out)
	} else {
		ifaces = strings.Fields(s.mustExec(t, inst, "/bin/sh", "-c", "ls /sys/class/net"))
	}
	others := 0
	for _, i := range ifaces {
		if i != "lo" {
			others++
		}
	}
	if others != 1 && n.Kind != "host" {
		t.Errorf("network interfaces %q, want lo and one device", ifaces)
	}

	if err := s.hostConnects(inst, n.SandboxAddr); err != nil {
		t.Error(err)
	}
	from, line, err := s.sandboxConnects(t, inst, n.HostAddr.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if from != n.SandboxAddr || line != "isobench-drivertest" {
		t.Errorf("the host end got %q from %s, want %q from %s", line, from, "isobench-drivertest", n.SandboxAddr)
	}

	if err := inst.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	after := snapshotHostNet()
	for _, left := range before.leftBy(after, n, bridgePorts) {
		t.Errorf("after Close: %s", left)
	}
}

// checkLink checks a link's addresses and kind.
func checkLink(n driver.Network) error {
	if n.Kind == "host" {
		// The host's own network namespace, shared: host and sandbox
		// meet on loopback.
		if !n.SandboxAddr.IsLoopback() || n.HostAddr.Addr() != n.SandboxAddr || n.HostDevice != "lo" {
			return fmt.Errorf("link %+v: a sandbox in the host's network namespace is reached on lo at a loopback address", n)
		}
		return nil
	}
	if n.Kind == "cni" {
		if !n.HostAddr.Addr().Is4() || !n.SandboxAddr.Is4() || n.HostAddr.Addr() == n.SandboxAddr {
			return fmt.Errorf("link %+v: want distinct host and sandbox IPv4 addresses", n)
		}
	} else if !n.HostAddr.Addr().Is4() || !n.HostAddr.Contains(n.SandboxAddr) || n.HostAddr.Addr() == n.SandboxAddr {
		return fmt.Errorf("link %+v: want host and sandbox IPv4 addresses on one network", n)
	}
	switch n.Kind {
	case "veth", "tap":
		if n.HostAddr.Bits() != 30 {
			return fmt.Errorf("link %+v: want a /30", n)
		}
	case "bridge":
		if n.HostAddr.Bits() > 30 || n.HostAddr.Bits() < 8 {
			return fmt.Errorf("link %+v: a bridge's prefix should be from /8 to /30", n)
		}
	case "cni":
		// A cluster's pod network: the host's route to the pod's IP
		// goes out of HostDevice from HostAddr, on one network or not.
	default:
		return fmt.Errorf("link %+v: unknown kind", n)
	}
	if n.HostDevice == "" {
		return fmt.Errorf("link %+v: no host device", n)
	}
	return nil
}

// hostConnects has the sandbox listen with busybox nc and the host
// connect to it over the link and send a line, which the sandbox's nc
// prints.
func (s *suite) hostConnects(inst driver.Instance, sandbox netip.Addr) error {
	const port, line = 5299, "isobench-from-host"
	type res struct {
		out, errOut string
		err         error
	}
	done := make(chan res, 1)
	go func() {
		out, errOut, err := s.exec(inst, "/bin/sh", "-c", fmt.Sprintf("nc -l -p %d -w 20", port))
		done <- res{out, errOut, err}
	}()
	deadline := time.Now().Add(s.cfg.commandTimeout)
	var c net.Conn
	var err error
	for time.Now().Before(deadline) {
		c, err = net.DialTimeout("tcp4", netip.AddrPortFrom(sandbox, port).String(), time.Second)
		if err == nil {
			break
		}
		select {
		case r := <-done:
			return fmt.Errorf("the sandbox's listener ended before the host connected: %v (stderr %q, stdout %q)", r.err, r.errOut, r.out)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if c == nil {
		return fmt.Errorf("the host could not connect to %s:%d in the sandbox: %v", sandbox, port, err)
	}
	_, werr := io.WriteString(c, line+"\n")
	c.Close()
	if werr != nil {
		return fmt.Errorf("writing to the sandbox: %w", werr)
	}
	select {
	case r := <-done:
		if strings.TrimSpace(r.out) != line {
			return fmt.Errorf("the sandbox's listener printed %q (stderr %q, err %v), want %q", r.out, r.errOut, r.err, line)
		}
		return nil
	case <-time.After(s.cfg.commandTimeout):
		return errors.New("the sandbox's listener did not end after the host's line")
	}
}

// hostNet is what the host has of sandbox networks at one moment.
type hostNet struct {
	devices map[string]bool
	netns   map[string]bool
	rules   []string // iptables-save's rules, "" when it cannot run
}

func snapshotHostNet() hostNet {
	h := hostNet{devices: map[string]bool{}, netns: map[string]bool{}}
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			h.devices[i.Name] = true
		}
	}
	if ents, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range ents {
			h.netns[e.Name()] = true
		}
	}
	if out, err := exec.Command("iptables-save").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "-A ") {
				h.rules = append(h.rules, l)
			}
		}
	}
	return h
}

// leftBy says what of link n is on the host in after: its host device
// (veth, tap; a bridge's, the device of the route to a pod, or lo, stays) or
// the bridge ports it added, a network namespace that was
// not there before, an iptables rule that names its address or device
// and was not there before.
func (before hostNet) leftBy(after hostNet, n driver.Network, ports []string) []string {
	var left []string
	if n.Kind != "bridge" && n.Kind != "cni" && n.Kind != "host" && after.devices[n.HostDevice] {
		left = append(left, "host device "+n.HostDevice)
	}
	for _, p := range ports {
		if !before.devices[p] && after.devices[p] {
			left = append(left, "bridge port "+p+" of "+n.HostDevice)
		}
	}
	for ns := range after.netns {
		if !before.netns[ns] && strings.HasPrefix(ns, driver.IDPrefix) {
			left = append(left, "network namespace "+ns)
		}
	}
	old := map[string]bool{}
	for _, r := range before.rules {
		old[r] = true
	}
	for _, r := range after.rules {
		if !old[r] && (strings.Contains(r, n.SandboxAddr.String()) || strings.Contains(r, n.HostDevice)) {
			left = append(left, "iptables rule "+r)
		}
	}
	return left
}

// portsOf lists the devices enslaved to a bridge.
func portsOf(bridge string) []string {
	ents, err := os.ReadDir(filepath.Join("/sys/class/net", bridge, "brif"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// sandboxConnects listens on host:0 and has the sandbox send one line to
// it with busybox nc; it returns where the connection came from and the
// line.
func (s *suite) sandboxConnects(t *testing.T, inst driver.Instance, host netip.Addr) (netip.Addr, string, error) {
	return SandboxSends(inst, host, "isobench-drivertest", s.cfg.commandTimeout)
}

// SandboxSends listens on host:0 and has the sandbox send line to it with
// busybox nc (`nc -w 5`), each step bounded by timeout; it returns where
// the connection came from and the line the host end read. The shared
// suite's network check uses it, and so can a driver's own test of its
// link.
func SandboxSends(inst driver.Instance, host netip.Addr, line string, timeout time.Duration) (netip.Addr, string, error) {
	ln, err := net.Listen("tcp4", netip.AddrPortFrom(host, 0).String())
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("listening on the host end: %w", err)
	}
	defer ln.Close()
	type got struct {
		from netip.Addr
		line string
		err  error
	}
	ch := make(chan got, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- got{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(timeout))
		b, err := io.ReadAll(io.LimitReader(c, 1024))
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		ch <- got{from: ap.Addr(), line: strings.TrimSpace(string(b)), err: err}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	cmd := fmt.Sprintf("echo %s | nc -w 5 %s %d", line, host, port)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errOut bytes.Buffer
	if err := inst.Exec(ctx, []string{"/bin/sh", "-c", cmd}, nil, &errOut); err != nil {
		return netip.Addr{}, "", fmt.Errorf("%s in the sandbox: %v (stderr %q)", cmd, err, errOut.String())
	}
	select {
	case g := <-ch:
		return g.from, g.line, g.err
	case <-ctx.Done():
		return netip.Addr{}, "", errors.New("no connection from the sandbox reached the host end")
	}
}
