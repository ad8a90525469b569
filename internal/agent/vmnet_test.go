package agent

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestParseVMCmdlineNet(t *testing.T) {
	c, err := ParseVMCmdline("console=ttyS0 isobench.net=169.254.128.6/30 isobench.netmac=02:1B:A9:FE:80:06")
	if err != nil {
		t.Fatal(err)
	}
	if c.Net != netip.MustParsePrefix("169.254.128.6/30") || c.NetMAC != "02:1b:a9:fe:80:06" {
		t.Errorf("got %+v", c)
	}
	if c, _ := ParseVMCmdline("console=ttyS0"); c.Net.IsValid() {
		t.Errorf("a network without asking: %+v", c)
	}
	for _, bad := range []string{
		"isobench.net=169.254.128.6", "isobench.net=fe80::1/64", "isobench.net=169.254.128.4/30",
		"isobench.net=10.0.0.1/31", "isobench.net=nonsense", "isobench.netmac=02:1b", "isobench.netmac=x",
	} {
		if _, err := ParseVMCmdline(bad); err == nil {
			t.Errorf("ParseVMCmdline(%q): no error", bad)
		}
	}
}

// TestSetupGuestNet configures one end of a veth pair in a network namespace of
// the test's own, as the agent configures a guest's virtio-net device.
func TestSetupGuestNet(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (a network namespace and devices in it)")
	}
	type result struct {
		name  string
		addrs []string
		up    bool
		v6off string
		err   error
		skip  string
	}
	ch := make(chan result, 1)
	go func() {
		// The thread enters a new network namespace and is never handed
		// back: it ends with this goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{skip: "unshare(CLONE_NEWNET): " + err.Error()}
			return
		}
		mac, _ := net.ParseMAC("02:1b:a9:fe:80:06")
		a := netlink.NewLinkAttrs()
		a.Name, a.HardwareAddr = "guest0", mac
		veth := &netlink.Veth{LinkAttrs: a, PeerName: "other0", PeerHardwareAddr: net.HardwareAddr{0x02, 0x1b, 0, 0, 0, 1}}
		if err := netlink.LinkAdd(veth); err != nil {
			ch <- result{skip: "making a veth pair: " + err.Error()}
			return
		}
		cfg := VMConfig{Net: netip.MustParsePrefix("169.254.128.6/30"), NetMAC: mac.String()}
		name, err := setupGuestNet(cfg, time.Second)
		if err != nil {
			ch <- result{err: err}
			return
		}
		r := result{name: name}
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			ch <- result{err: err}
			return
		}
		r.up = ifc.Flags&net.FlagUp != 0
		as, _ := ifc.Addrs()
		for _, a := range as {
			r.addrs = append(r.addrs, a.String())
		}
		b, _ := os.ReadFile("/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6")
		r.v6off = strings.TrimSpace(string(b))
		// Two candidates and no MAC: an error, not a guess.
		if _, err := setupGuestNet(VMConfig{Net: cfg.Net}, 0); err == nil {
			r.err = errDummyAmbiguous
		}
		ch <- r
	}()
	r := <-ch
	if r.skip != "" {
		t.Skip(r.skip)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.name != "guest0" || !r.up {
		t.Errorf("configured %s (up %v), want guest0 up", r.name, r.up)
	}
	if len(r.addrs) != 1 || r.addrs[0] != "169.254.128.6/30" {
		t.Errorf("addresses %q, want 169.254.128.6/30 only", r.addrs)
	}
	if r.v6off != "" && r.v6off != "1" {
		t.Errorf("disable_ipv6 = %q", r.v6off)
	}
}

var errDummyAmbiguous = &net.AddrError{Err: "two devices and no MAC were not refused"}
