package incus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/linkpath"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
)

var _ driver.Networker = (*instance)(nil)

// linkRange is the IPv4 block the links of Incus sandboxes are cut from, a
// /30 each (.1 the host end, .2 the sandbox's): link-local, never routed,
// and apart from package sandboxnet's block (the upper half) and the
// engines' bridges.
var linkRange = netip.MustParsePrefix("169.254.64.0/19")

// linkSlots is the number of /30 links in linkRange.
const linkSlots = 1 << (32 - 19 - 2)

// linkDevicePrefix starts the host end's name: "isbi" and the slot.
const linkDevicePrefix = "isbi"

// linkRecordVersion is the format version of link records.
const linkRecordVersion = 1

// linkRecord is the state record of one sandbox's link, written
// exclusively (which reserves its slot) before the instance is created,
// removed once the host end is gone.
type linkRecord struct {
	Version int                `json:"version"`
	ID      string             `json:"id"`
	Slot    int                `json:"slot"`
	Device  string             `json:"device"`
	Owner   driverkit.Identity `json:"owner"`
	Created time.Time          `json:"created"`
}

// link is a sandbox's network link: an Incus NIC of type p2p (a veth pair
// Incus makes when the container starts, its host end named by isobench)
// whose two ends isobench addresses.
type link struct {
	rec      linkRecord
	stateDir string
}

func linkDir(stateDir string) string { return filepath.Join(stateDir, "incus", "net") }

func linkRecordPath(stateDir string, slot int) string {
	return sandboxnet.RecordPath(linkDir(stateDir), slot)
}

// linkAddrs returns the host and sandbox addresses of a slot.
func linkAddrs(slot int) (host, sandbox netip.Prefix) { return sandboxnet.SlotAddrs(linkRange, slot) }

// reserveLink reserves a slot for sandbox id: the first whose record it
// can write and whose device name is free, from one the id picks.
func reserveLink(stateDir, id string) (*link, error) {
	if err := os.MkdirAll(linkDir(stateDir), 0o700); err != nil {
		return nil, fmt.Errorf("sandbox network: %w", err)
	}
	me, err := driverkit.Self()
	if err != nil {
		return nil, fmt.Errorf("sandbox network: %w", err)
	}
	first := sandboxnet.FirstSlot(id, linkSlots)
	for i := 0; i < linkSlots; i++ {
		slot := (first + i) % linkSlots
		rec := linkRecord{Version: linkRecordVersion, ID: id, Slot: slot, Device: linkDevicePrefix + strconv.Itoa(slot),
			Owner: me, Created: time.Now().UTC()}
		if _, err := net.InterfaceByName(rec.Device); err == nil {
			continue // another isobench's, with another state directory
		}
		taken, err := sandboxnet.WriteRecord(linkRecordPath(stateDir, slot), rec)
		if err != nil {
			return nil, err
		}
		if taken {
			continue
		}
		return &link{rec: rec, stateDir: stateDir}, nil
	}
	return nil, fmt.Errorf("sandbox network: no free link in %s", linkRange)
}

// nic is the instance's NIC device.
func (l *link) nic() map[string]string {
	return map[string]string{"type": "nic", "nictype": "p2p", "name": "eth0", "host_name": l.rec.Device}
}

// configure addresses both ends of the started container's veth: the
// host end (labelled with the sandbox id, IPv4 only) and eth0 in the
// container's network namespace, that of its init (pid).
func (l *link) configure(pid int) error {
	host, sandbox := linkAddrs(l.rec.Slot)
	hl, err := netlink.LinkByName(l.rec.Device)
	if err != nil {
		return fmt.Errorf("sandbox network: the host end %s: %w", l.rec.Device, err)
	}
	if err := sandboxnet.SetUpHostEnd(hl, l.rec.ID, host, false); err != nil {
		return err
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("sandbox network: the container's network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("sandbox network: entering the container's network namespace: %w", err)
	}
	defer h.Close()
	for _, name := range []string{"lo", "eth0"} {
		cl, err := h.LinkByName(name)
		if err != nil {
			return fmt.Errorf("sandbox network: %s in the container: %w", name, err)
		}
		if name == "eth0" {
			// IPv4 only, as the host end: no IPv6 chatter on a link a
			// measurement uses.
			_ = h.LinkSetIP6AddrGenMode(cl, nl.IN6_ADDR_GEN_MODE_NONE)
			if err := h.AddrAdd(cl, &netlink.Addr{IPNet: sandboxnet.IPNet(sandbox)}); err != nil {
				return fmt.Errorf("sandbox network: address %s on the container's eth0: %w", sandbox, err)
			}
		}
		if err := h.LinkSetUp(cl); err != nil {
			return fmt.Errorf("sandbox network: bringing the container's %s up: %w", name, err)
		}
	}
	return nil
}

// network describes the configured link.
func (l *link) network() driver.Network {
	host, sandbox := linkAddrs(l.rec.Slot)
	return driver.Network{HostAddr: host, SandboxAddr: sandbox.Addr(), HostDevice: l.rec.Device, Kind: "veth",
		Path: linkpath.Describe(l.rec.Device) + " -> the container's eth0",
		Note: "an Incus p2p NIC (a veth pair Incus makes), addressed by isobench; no Incus bridge, no firewall rule"}
}

// remove deletes the host end if it is still there and labelled with the
// sandbox id (Incus deletes it when the container stops), then the
// record. It is idempotent.
func (l *link) remove() error {
	if err := sandboxnet.RemoveDevice(l.rec.Device, l.rec.ID); err != nil {
		return err
	}
	if err := os.Remove(linkRecordPath(l.stateDir, l.rec.Slot)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sandbox network: removing state record: %w", err)
	}
	return nil
}

// readLinkRecords reads the link records of a state directory.
func readLinkRecords(stateDir string) ([]linkRecord, error) {
	return sandboxnet.ReadRecords(linkDir(stateDir), "", func(name string, r linkRecord, err error) error {
		if err != nil || r.Version != linkRecordVersion ||
			name != sandboxnet.RecordName(r.Slot) || r.Device != linkDevicePrefix+strconv.Itoa(r.Slot) {
			return fmt.Errorf("sandbox network: state record %s is not one of isobench's", name)
		}
		return nil
	})
}

// collectLinks removes the links of dead owners.
func collectLinks(ctx context.Context, stateDir string) ([]string, error) {
	recs, err := readLinkRecords(stateDir)
	alive := func(r linkRecord) bool { return r.Owner.Alive() }
	return sandboxnet.CollectDead(ctx, recs, err, alive, func(r linkRecord) (string, error) {
		l := &link{rec: r, stateDir: stateDir}
		if err := l.remove(); err != nil {
			return "", err
		}
		return fmt.Sprintf("removed sandbox network of %s: veth %s", r.ID, r.Device), nil
	})
}

// linkLeftovers lists the links of dead owners.
func linkLeftovers(stateDir string) ([]driver.Leftover, error) {
	recs, err := readLinkRecords(stateDir)
	var out []driver.Leftover
	for _, r := range recs {
		if !r.Owner.Alive() {
			out = append(out, driver.Leftover{ID: r.ID, What: "Incus sandbox network: record and maybe veth " + r.Device,
				OwnerPID: r.Owner.PID, Created: r.Created})
		}
	}
	return out, err
}

// instancePID returns the pid of a running instance's init.
func (in *instance) instancePID(ctx context.Context) (int, error) {
	var st struct {
		Pid int `json:"pid"`
	}
	if err := in.cn.c.get(ctx, apiPath("instances", in.spec.ID, "state"), nil, &st); err != nil {
		return 0, fmt.Errorf("sandbox network: the instance's state: %w", err)
	}
	if st.Pid <= 0 {
		return 0, errors.New("sandbox network: Incus names no init process of the instance")
	}
	return st.Pid, nil
}

// Network implements driver.Networker: the link of a sandbox made with
// Spec.Network, once started (Incus makes the veth when the container
// starts).
func (in *instance) Network() (driver.Network, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.link == nil || !in.linkUp {
		return driver.Network{}, false
	}
	return in.link.network(), true
}
