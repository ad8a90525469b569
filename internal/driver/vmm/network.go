package vmm

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/linkpath"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
)

// makeLink makes the guest's link (Spec.Network): a tap of package
// sandboxnet (its own state record, the host's address on it, up), named
// in the guest's record too, and the machine's network device on it. The
// guest's address and the device's MAC go on the kernel command line,
// where the agent finds them.
func (in *Instance) makeLink(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	link, err := sandboxnet.NewTap(lctx, in.d.env.StateDir, in.spec.ID)
	if err != nil {
		return err
	}
	in.link = link
	n := link.Network()
	in.m.Net = &NetDevice{Tap: n.HostDevice, MAC: guestMAC(n.SandboxAddr), HostAddr: n.HostAddr, GuestAddr: link.SandboxPrefix()}
	in.record.Tap = n.HostDevice
	if err := stateRecords(in.d.env.StateDir).Write(in.record); err != nil {
		return err
	}
	return nil
}

// guestMAC is the MAC address of the guest's device on the link whose
// guest end is addr: locally administered, unicast, 02:69:62 ("ib") and
// the address's last three bytes (unique within sandboxnet.Range).
func guestMAC(addr netip.Addr) string {
	a := addr.As4()
	return net.HardwareAddr{0x02, 0x69, 0x62, a[1], a[2], a[3]}.String()
}

// describeLink says what the guest's traffic crosses on the host: the
// tap (its MTU and offloads), the VMM's device, the guest's device.
func (in *Instance) describeLink() string {
	return linkpath.Describe(in.m.Net.Tap) + " -> " + in.d.fam.NetBackend(&in.m) +
		" -> the guest's virtio-net device (" + in.m.Net.MAC + ")"
}

// Network implements driver.Networker: the link of a guest made with
// Spec.Network, a tap on the host (kind "tap") whose guest end the agent
// configured before it said hello. The path is as the devices were when
// the guest was ready; the note says when the guest is emulated (TCG).
func (in *Instance) Network() (driver.Network, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.link == nil {
		return driver.Network{}, false
	}
	n := in.link.Network()
	n.Path = in.netPath
	if n.Path == "" {
		n.Path = in.describeLink()
	}
	if in.m.Accel == AccelTCG {
		n.Note = "the guest under " + TCGWarning
	}
	return n, true
}
