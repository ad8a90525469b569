package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/linkpath"
	"github.com/isobench/isobench/internal/image"
)

// netKind is the driver.Network kind of a pod's link: the cluster's pod
// network, made by its CNI plugin, reached from this host by its routes.
const netKind = "cni"

var _ driver.Networker = (*Instance)(nil)

// Network implements driver.Networker: for a sandbox made with
// Spec.Network, its pod's IP and the route this host takes to it (the
// device and source address of the route, its MTU and offloads).
func (i *Instance) Network() (driver.Network, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.link == nil {
		return driver.Network{}, false
	}
	return *i.link, true
}

// podLink finds this host's route to a pod's IP. A pod behind a gateway
// of this host (its default route) is not on a network this host is part
// of: refused, with what the route says.
func podLink(podIP string) (*driver.Network, error) {
	ip, err := netip.ParseAddr(podIP)
	if err != nil || !ip.Is4() {
		return nil, fmt.Errorf("the pod has no IPv4 address (%q)", podIP)
	}
	routes, err := netlink.RouteGet(ip.AsSlice())
	if err != nil || len(routes) == 0 {
		return nil, fmt.Errorf("this host has no route to the pod's IP %s: %v", ip, err)
	}
	r := routes[0]
	l, err := netlink.LinkByIndex(r.LinkIndex)
	if err != nil {
		return nil, fmt.Errorf("the device of this host's route to %s: %w", ip, err)
	}
	dev := l.Attrs().Name
	if r.Gw != nil {
		return nil, fmt.Errorf("this host reaches the pod's IP %s only through the gateway %s on %s: the pod network is not this host's (run isobench on a node of the cluster)", ip, r.Gw, dev)
	}
	src, ok := netip.AddrFromSlice(r.Src.To4())
	if !ok {
		return nil, fmt.Errorf("this host's route to %s on %s has no source address", ip, dev)
	}
	host := netip.PrefixFrom(src, 32)
	if addrs, err := netlink.AddrList(l, netlink.FAMILY_V4); err == nil {
		for _, a := range addrs {
			if a.IP.Equal(r.Src) {
				ones, _ := a.Mask.Size()
				host = netip.PrefixFrom(src, ones)
			}
		}
	}
	return &driver.Network{
		HostAddr: host, SandboxAddr: ip, HostDevice: dev, Kind: netKind,
		Path: linkpath.Describe(dev) + " -> the pod's interface, made by the cluster's CNI plugin",
		Note: "the cluster's pod network (CNI), reached from the host isobench runs on by its route to the pod's IP",
	}, nil
}

// probeNetwork checks, in the probe's started sandbox, that this host
// reaches a listener in the pod at its IP: busybox nc listens in the pod
// and this host connects and sends a line. It returns "" when it does,
// or why not.
func probeNetwork(ctx context.Context, in *Instance) string {
	link, err := podLink(in.podIP)
	if err != nil {
		return err.Error()
	}
	const port, line = 5298, "isobench-probe"
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		argv := []string{image.AgentPath, "exec", "--timeout", "15s", "--", "busybox", "nc", "-l", "-p", strconv.Itoa(port), "-w", "10"}
		done <- in.Exec(ctx, argv, io.Discard, io.Discard)
	}()
	addr := netip.AddrPortFrom(link.SandboxAddr, port).String()
	var last error
	for ctx.Err() == nil {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp4", addr)
		if err == nil {
			_, err = c.Write([]byte(line + "\n"))
			c.Close()
			if err == nil {
				<-done
				return ""
			}
		}
		last = err
		select {
		case err := <-done:
			if err == nil {
				err = errors.New("it ended")
			}
			return fmt.Sprintf("a listener in the pod at %s did not take a connection from this host (the listener: %v; the connection: %v)", addr, err, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Sprintf("this host could not connect to a listener in the pod at %s: %v", addr, last)
}
