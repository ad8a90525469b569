package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/moby/moby/client"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/linkpath"
)

var _ driver.Networker = (*instance)(nil)

// networkRefusal says why the driver's containers cannot have a network
// link to the host, "" when they can: runsc cannot share the host's
// network namespace (hostnet); runsc registered with
// --network=none (as a private daemon registers an old runsc, and runsc
// under Podman) gives its sandbox none whatever the engine attaches.
func networkRefusal(rt runtimeChoice, hostNet bool) string {
	if hostNet && rt.oci == "runsc" {
		return "runsc with its own network stack does not start in the host's network namespace (it would need --network=host, gVisor's passthrough to the host's stack)"
	}
	if rt.oci == "runsc" && flagValue(rt.args, "network") == "none" {
		return "runsc runs with --network=none under this daemon, so its sandboxes have no network (under Docker, a runsc older than the one isobench setup --gvisor builds; under Podman, always: a container without a network gets a namespace whose lo is down, which runsc cannot take)"
	}
	return ""
}

// Network implements driver.Networker: the link of a sandbox made with
// Spec.Network, known once Start returned (the engine gives the container
// its address when it starts).
func (in *instance) Network() (driver.Network, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.link == nil {
		return driver.Network{}, false
	}
	return *in.link, true
}

// findLink reads the link of a started container: its address on the
// engine's network, the host device with the gateway's address (the
// bridge), and the host end of the container's veth (the bridge's port),
// found through the container's network namespace.
func (in *instance) findLink(ctx context.Context) (*driver.Network, error) {
	res, err := in.c.cli.ContainerInspect(ctx, in.cid, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("network: inspecting the container: %w", err)
	}
	ct := res.Container
	if ct.NetworkSettings == nil || len(ct.NetworkSettings.Networks) != 1 {
		var names []string
		if ct.NetworkSettings != nil {
			for n := range ct.NetworkSettings.Networks {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		return nil, fmt.Errorf("network: the container is on networks %q, want one", names)
	}
	var netName string
	for n, ep := range ct.NetworkSettings.Networks {
		netName = n
		if ep == nil || !ep.IPAddress.Is4() || ep.IPPrefixLen <= 0 || ep.IPPrefixLen > 30 {
			return nil, fmt.Errorf("network: the container has no IPv4 address on network %s", n)
		}
		host, dev, err := hostEnd(netip.PrefixFrom(ep.IPAddress, ep.IPPrefixLen), ep.Gateway)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", n, err)
		}
		nsPath := ct.NetworkSettings.SandboxKey
		if nsPath == "" && ct.State != nil && ct.State.Pid > 0 {
			nsPath = fmt.Sprintf("/proc/%d/ns/net", ct.State.Pid)
		}
		port, mtu, err := bridgePort(nsPath)
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", n, err)
		}
		path := linkpath.Describe(dev, port)
		if mtu > 0 {
			path += fmt.Sprintf(" -> the sandbox's veth, mtu %d", mtu)
		}
		link := &driver.Network{HostAddr: host, SandboxAddr: ep.IPAddress, HostDevice: dev, Kind: "bridge", Path: path}
		what := fmt.Sprintf("%s's %s network", in.d.eng.title, netName)
		if in.c.daemon != nil {
			what += ", on a bridge of isobench's (a private daemon's: no iptables rule, no NAT)"
		}
		link.Note = what
		return link, nil
	}
	return nil, errors.New("network: unreachable")
}

// hostEnd finds the host's device and address on the sandbox's subnet:
// the device holding the gateway address, or else the one address of the
// host inside the subnet.
func hostEnd(sandbox netip.Prefix, gateway netip.Addr) (netip.Prefix, string, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Prefix{}, "", fmt.Errorf("listing the host's addresses: %w", err)
	}
	var found []netip.Prefix
	var devs []int
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		p := netip.PrefixFrom(ip, ones)
		if !p.Contains(sandbox.Addr()) || ip == sandbox.Addr() {
			continue
		}
		if gateway.IsValid() && ip == gateway {
			found, devs = []netip.Prefix{p}, []int{a.LinkIndex}
			break
		}
		found, devs = append(found, p), append(devs, a.LinkIndex)
	}
	if len(found) != 1 {
		return netip.Prefix{}, "", fmt.Errorf("no single host address on the sandbox's subnet %s (gateway %s): %v", sandbox.Masked(), gateway, found)
	}
	l, err := netlink.LinkByIndex(devs[0])
	if err != nil {
		return netip.Prefix{}, "", fmt.Errorf("the host device with %s: %w", found[0], err)
	}
	return found[0], l.Attrs().Name, nil
}

// bridgePort returns the host end of the container's one device besides
// lo (a veth), read from the container's network namespace at nsPath,
// and the container end's MTU.
func bridgePort(nsPath string) (string, int, error) {
	if nsPath == "" {
		return "", 0, errors.New("the container's network namespace is not known")
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return "", 0, fmt.Errorf("opening the container's network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return "", 0, fmt.Errorf("entering the container's network namespace: %w", err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return "", 0, fmt.Errorf("listing the container's devices: %w", err)
	}
	var names []string
	var peer, mtu int
	for _, l := range links {
		a := l.Attrs()
		if a.Name == "lo" {
			continue
		}
		names = append(names, a.Name)
		peer, mtu = a.ParentIndex, a.MTU
	}
	if len(names) != 1 || peer <= 0 {
		return "", 0, fmt.Errorf("the container has devices %s besides lo, want one veth", strings.Join(names, ", "))
	}
	hl, err := netlink.LinkByIndex(peer)
	if err != nil {
		return "", 0, fmt.Errorf("the host end of the container's %s: %w", names[0], err)
	}
	return hl.Attrs().Name, mtu, nil
}

// netKindHost is the driver.Network kind of a sandbox in the host's
// network namespace.
const netKindHost = "host"

// hostLink is the link of a hostnet sandbox: it shares the host's network
// namespace, so host and sandbox meet on the loopback device.
func hostLink(title string) *driver.Network {
	return &driver.Network{
		HostAddr: netip.MustParsePrefix("127.0.0.1/8"), SandboxAddr: netip.MustParseAddr("127.0.0.1"),
		HostDevice: "lo", Kind: netKindHost,
		Path: linkpath.Describe("lo") + " (the host's network namespace, shared)",
		Note: title + "'s host network (--network host): the sandbox shares the host's network namespace, and the host reaches it on loopback",
	}
}
