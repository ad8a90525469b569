package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// guestNetWait bounds the wait for the guest's network device to appear
// (its driver is loaded by the initramfs; the device may register a
// moment later).
const guestNetWait = 20 * time.Second

// setupGuestNet configures the guest's end of its link to the host, as
// the kernel command line names it (ParamNet, ParamNetMAC): it finds the
// device (by MAC, or the one device besides lo), turns IPv6 off on it (no
// duplicate-address or router-solicitation packets on a measured link),
// gives it the address and brings it up. No route beyond the link's own
// is added. It returns the device's name.
func setupGuestNet(cfg VMConfig, wait time.Duration) (string, error) {
	if !cfg.Net.IsValid() {
		return "", errors.New("guest network: no address asked for")
	}
	ifc, err := findGuestNetDevice(cfg.NetMAC, wait)
	if err != nil {
		return "", err
	}
	name := ifc.Name
	// IPv6 may not be built into the kernel: then there is nothing to
	// turn off.
	if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("guest network: turning IPv6 off on %s: %w", name, err)
	}
	if err := setInterfaceIPv4(name, cfg.Net); err != nil {
		return "", fmt.Errorf("guest network: %w", err)
	}
	return name, nil
}

// findGuestNetDevice waits up to wait for the network device with the
// MAC address mac ("" for the one device besides loopback).
func findGuestNetDevice(mac string, wait time.Duration) (net.Interface, error) {
	deadline := time.Now().Add(wait)
	for {
		ifs, err := net.Interfaces()
		if err != nil {
			return net.Interface{}, fmt.Errorf("guest network: listing devices: %w", err)
		}
		var found []net.Interface
		var names []string
		for _, i := range ifs {
			if i.Flags&net.FlagLoopback != 0 {
				continue
			}
			names = append(names, i.Name+" "+i.HardwareAddr.String())
			if mac == "" || strings.EqualFold(i.HardwareAddr.String(), mac) {
				found = append(found, i)
			}
		}
		switch {
		case len(found) == 1:
			return found[0], nil
		case len(found) > 1:
			return net.Interface{}, fmt.Errorf("guest network: %d devices could be the link's (%s); want one", len(found), strings.Join(names, ", "))
		}
		if time.Now().After(deadline) {
			what := "a network device"
			if mac != "" {
				what = "the network device " + mac
			}
			if len(names) == 0 {
				names = []string{"none but lo"}
			}
			return net.Interface{}, fmt.Errorf("guest network: %s did not appear within %s (devices: %s)", what, wait, strings.Join(names, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setInterfaceIPv4 gives a device an IPv4 address with its prefix length
// and brings it up, with the classic ioctls (SIOCSIFADDR, SIOCSIFNETMASK,
// SIOCSIFFLAGS): the kernel adds the route of the link's network.
func setInterfaceIPv4(name string, p netip.Prefix) error {
	if len(name) >= syscall.IFNAMSIZ {
		return fmt.Errorf("device name %q is too long", name)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	// struct ifreq: the name, then a union of 24 bytes (here a struct
	// sockaddr_in, or the flags).
	type ifreq struct {
		name [syscall.IFNAMSIZ]byte
		data [24]byte
	}
	ioctl := func(req uintptr, r *ifreq) error {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(r))); e != 0 {
			return e
		}
		return nil
	}
	sockaddr := func(a netip.Addr) ifreq {
		var r ifreq
		copy(r.name[:], name)
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&r.data[0]))
		sa.Family = syscall.AF_INET
		sa.Addr = a.As4()
		return r
	}
	r := sockaddr(p.Addr())
	if err := ioctl(syscall.SIOCSIFADDR, &r); err != nil {
		return fmt.Errorf("address %s on %s: %w", p.Addr(), name, err)
	}
	mask := net.CIDRMask(p.Bits(), 32)
	r = sockaddr(netip.AddrFrom4([4]byte(mask)))
	if err := ioctl(syscall.SIOCSIFNETMASK, &r); err != nil {
		return fmt.Errorf("netmask /%d on %s: %w", p.Bits(), name, err)
	}
	var f ifreq
	copy(f.name[:], name)
	if err := ioctl(syscall.SIOCGIFFLAGS, &f); err != nil {
		return fmt.Errorf("flags of %s: %w", name, err)
	}
	*(*uint16)(unsafe.Pointer(&f.data[0])) |= syscall.IFF_UP
	if err := ioctl(syscall.SIOCSIFFLAGS, &f); err != nil {
		return fmt.Errorf("bringing %s up: %w", name, err)
	}
	return nil
}
