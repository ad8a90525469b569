package drivertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
)

// testNetwork checks the contract of Spec.Network (see driver.Network): a
// driver that cannot give a network says so with ErrNotSupported (the
// subtest skips with its reason); one that can implements driver.Networker,
// gives the sandbox one device besides lo on a /30 shared with a host
// device, over which the sandbox reaches a listener on the host end (and
// is seen from the sandbox address), and removes the host device on Close.
func (s *suite) testNetwork(t *testing.T) {
	spec := s.spec(t)
	spec.Network = true
	s.expectGone(t, spec.ID)
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
	n, ok := nw.Network()
	if !ok {
		t.Fatal("Network() of an instance made with Spec.Network says it has none")
	}
	if !n.HostAddr.Addr().Is4() || n.HostAddr.Bits() != 30 || !n.HostAddr.Contains(n.SandboxAddr) || n.HostAddr.Addr() == n.SandboxAddr {
		t.Fatalf("link %+v: want host and sandbox addresses on one /30", n)
	}
	if n.HostDevice == "" || (n.Kind != "veth" && n.Kind != "tap") {
		t.Fatalf("link %+v: no host device or an unknown kind", n)
	}
	if _, err := net.InterfaceByName(n.HostDevice); err != nil {
		t.Fatalf("host device %s of the link: %v", n.HostDevice, err)
	}
	if n.Note != "" {
		t.Logf("link note: %s", n.Note)
	}
	s.start(t, inst)

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
	if others != 1 {
		t.Errorf("network interfaces %q, want lo and one device", ifaces)
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
	if _, err := net.InterfaceByName(n.HostDevice); err == nil {
		t.Errorf("host device %s still there after Close", n.HostDevice)
	}
}

// sandboxConnects listens on host:0 and has the sandbox send one line to
// it with busybox nc; it returns where the connection came from and the
// line.
func (s *suite) sandboxConnects(t *testing.T, inst driver.Instance, host netip.Addr) (netip.Addr, string, error) {
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
		_ = c.SetDeadline(time.Now().Add(s.cfg.commandTimeout))
		b, err := io.ReadAll(io.LimitReader(c, 1024))
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		ch <- got{from: ap.Addr(), line: strings.TrimSpace(string(b)), err: err}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	cmd := fmt.Sprintf("echo isobench-drivertest | nc -w 5 %s %d", host, port)
	if _, errOut, err := s.exec(inst, "/bin/sh", "-c", cmd); err != nil {
		return netip.Addr{}, "", fmt.Errorf("%s in the sandbox: %v (stderr %q)", cmd, err, errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.commandTimeout)
	defer cancel()
	select {
	case g := <-ch:
		return g.from, g.line, g.err
	case <-ctx.Done():
		return netip.Addr{}, "", errors.New("no connection from the sandbox reached the host end")
	}
}
