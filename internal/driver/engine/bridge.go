package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// bridgeRange is the IPv4 block the bridges of private daemons are cut
// from, a /24 each: link-local (never routed, so a bridge cannot clash
// with a network the host reaches) and apart from the sandbox links of
// package sandboxnet (the upper half of the link-local block).
var bridgeRange = netip.MustParsePrefix("169.254.96.0/19")

// bridgeSlots is the number of /24 bridges in bridgeRange.
const bridgeSlots = 1 << (24 - 19)

// bridgePrefix starts the name of every bridge a private daemon gets:
// "isbe" and the bridge's slot.
const bridgePrefix = "isbe"

// bridgeAlias starts the alias of every such bridge; the rest is the
// identity (pid:start) of the process whose life holds it: the isobench
// process that made it until its daemon runs, then the daemon.
const bridgeAlias = "isobench-engine "

// bridge is the network bridge of one private daemon: the engine's own
// default bridge network, which isobench makes (named by it, labelled
// with its holder) before the daemon starts and removes after it stopped.
type bridge struct {
	Name string
	// Host is the bridge's address with the /24: the gateway of the
	// engine's containers.
	Host netip.Prefix
}

// bridgeSubnet returns the host address (.1/24) of a slot.
func bridgeSubnet(slot int) netip.Prefix {
	b := bridgeRange.Addr().As4()
	b[2] += byte(slot)
	b[3] = 1
	return netip.PrefixFrom(netip.AddrFrom4(b), 24)
}

// makeBridge makes a bridge for the private daemon of l, held by holder:
// the first free slot from one the layout's state directory picks, whose
// name no device has and whose subnet no route of the host touches. The
// bridge has its address, no IPv6 address, and is up.
func makeBridge(l layout, holder driverkit.Identity) (bridge, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return bridge{}, fmt.Errorf("bridge: listing the host's routes: %w", err)
	}
	h := fnv.New32a()
	h.Write([]byte(l.state))
	first := int(h.Sum32() % bridgeSlots)
	for i := 0; i < bridgeSlots; i++ {
		slot := (first + i) % bridgeSlots
		b := bridge{Name: bridgePrefix + strconv.Itoa(slot), Host: bridgeSubnet(slot)}
		if routesTouch(routes, b.Host.Masked()) {
			continue
		}
		err := b.make(holder)
		if errors.Is(err, syscall.EEXIST) {
			continue
		}
		if err != nil {
			return bridge{}, errors.Join(err, removeBridge(b.Name))
		}
		return b, nil
	}
	return bridge{}, fmt.Errorf("bridge: no free /24 in %s for a private daemon's bridge", bridgeRange)
}

// routesTouch says whether a route of the host overlaps p.
func routesTouch(routes []netlink.Route, p netip.Prefix) bool {
	for _, r := range routes {
		if r.Dst == nil {
			continue // a default route
		}
		ones, _ := r.Dst.Mask.Size() // 0: a default route
		a, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		if ok && ones > 0 && netip.PrefixFrom(a, ones).Masked().Overlaps(p) {
			return true
		}
	}
	return false
}

func (b bridge) make(holder driverkit.Identity) error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = b.Name
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
		if errors.Is(err, syscall.EEXIST) {
			return err
		}
		return fmt.Errorf("bridge: making %s: %w", b.Name, err)
	}
	link, err := netlink.LinkByName(b.Name)
	if err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	if err := netlink.LinkSetAlias(link, bridgeAlias+holder.String()); err != nil {
		return fmt.Errorf("bridge: labelling %s: %w", b.Name, err)
	}
	if err := netlink.LinkSetIP6AddrGenMode(link, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
		return fmt.Errorf("bridge: no IPv6 address on %s: %w", b.Name, err)
	}
	ipn := &net.IPNet{IP: b.Host.Addr().AsSlice(), Mask: net.CIDRMask(b.Host.Bits(), 32)}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipn}); err != nil {
		return fmt.Errorf("bridge: address %s on %s: %w", b.Host, b.Name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bridge: bringing %s up: %w", b.Name, err)
	}
	return nil
}

// holdBridge hands a bridge over to a new holder (the daemon, once it
// runs).
func holdBridge(name string, holder driverkit.Identity) error {
	link, err := ownBridge(name)
	if err != nil || link == nil {
		return err
	}
	if err := netlink.LinkSetAlias(link, bridgeAlias+holder.String()); err != nil {
		return fmt.Errorf("bridge: labelling %s: %w", name, err)
	}
	return nil
}

// ownBridge returns the bridge of that name if isobench made it (its
// alias says so), nil if there is none or it is not isobench's.
func ownBridge(name string) (netlink.Link, error) {
	if !strings.HasPrefix(name, bridgePrefix) {
		return nil, nil
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, syscall.ENODEV) {
			return nil, nil
		}
		return nil, fmt.Errorf("bridge %s: %w", name, err)
	}
	if link.Type() != "bridge" || !strings.HasPrefix(link.Attrs().Alias, bridgeAlias) {
		return nil, nil
	}
	return link, nil
}

// removeBridge deletes a bridge isobench made; one that is not there, or
// not isobench's, is left alone. Its ports (veths of containers) are
// let go by the kernel.
func removeBridge(name string) error {
	link, err := ownBridge(name)
	if err != nil || link == nil {
		return err
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("bridge: deleting %s: %w", name, err)
	}
	return nil
}

// orphanBridges lists isobench's engine bridges whose holder no longer
// runs (a daemon that died, an isobench killed before its daemon ran).
func orphanBridges() ([]string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing the host's devices: %w", err)
	}
	var out []string
	for _, l := range links {
		a := l.Attrs()
		if l.Type() != "bridge" || !strings.HasPrefix(a.Name, bridgePrefix) || !strings.HasPrefix(a.Alias, bridgeAlias) {
			continue
		}
		id, err := driverkit.ParseIdentity(strings.TrimPrefix(a.Alias, bridgeAlias))
		if err != nil || !id.Alive() {
			out = append(out, a.Name)
		}
	}
	return out, nil
}

// collectBridges removes the orphan bridges.
func collectBridges() ([]string, error) {
	names, err := orphanBridges()
	var lines []string
	errs := []error{err}
	for _, n := range names {
		if err := removeBridge(n); err != nil {
			errs = append(errs, err)
			continue
		}
		lines = append(lines, "removed engine bridge "+n)
	}
	return lines, errors.Join(errs...)
}

// podmanNetworkName is the name of Podman's default network, which a
// private Podman service finds in its own network configuration directory.
const podmanNetworkName = "podman"

// writePodmanNetwork writes, in dir, the CNI configuration of Podman's
// default network for a private service: its bridge plugin on isobench's
// bridge, addresses from host-local (its leases under ipamDir), and
// nothing else. Not a gateway (so the plugin leaves the host's forwarding
// alone, and the container has no default route), no masquerade, no
// firewall or port-mapping plugin: no iptables rule is made.
func writePodmanNetwork(dir, ipamDir string, b bridge) error {
	for _, d := range []string{dir, ipamDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("podman network: %w", err)
		}
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       podmanNetworkName,
		"plugins": []any{map[string]any{
			"type": "bridge", "bridge": b.Name,
			"isGateway": false, "ipMasq": false, "hairpinMode": false,
			"ipam": map[string]any{
				"type": "host-local", "dataDir": ipamDir,
				"ranges": [][]map[string]string{{{"subnet": b.Host.Masked().String(), "gateway": b.Host.Addr().String()}}},
			},
		}},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "isobench.conflist"), append(data, '\n'), 0o600)
}
