package linkpath

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// offloads are the legacy ethtool get commands read, with the names
// `ethtool -k` gives them.
var offloads = []struct {
	name string
	cmd  uint32
}{
	{"rx-checksum", 0x14}, // ETHTOOL_GRXCSUM
	{"tx-checksum", 0x16}, // ETHTOOL_GTXCSUM
	{"sg", 0x18},          // ETHTOOL_GSG
	{"tso", 0x1e},         // ETHTOOL_GTSO
	{"gso", 0x23},         // ETHTOOL_GGSO
	{"gro", 0x2b},         // ETHTOOL_GGRO
}

// Device describes one host device: "veth isbi3 mtu 1500 (rx-checksum
// on, ..., gro off)"; a device it cannot read is said so.
func Device(name string) string {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Sprintf("%s (unreadable: %v)", name, err)
	}
	s := fmt.Sprintf("%s %s mtu %d", l.Type(), name, l.Attrs().MTU)
	if o := Offloads(name); o != "" {
		s += " (" + o + ")"
	}
	return s
}

// Describe describes devices in the order traffic from the host crosses
// them, joined by " -> ".
func Describe(names ...string) string {
	var parts []string
	for _, n := range names {
		if n != "" {
			parts = append(parts, Device(n))
		}
	}
	return strings.Join(parts, " -> ")
}

// Offloads says which offloads are on for a device ("tso on, gro off,
// ..."); "" when none can be read.
func Offloads(name string) string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	var parts []string
	for _, o := range offloads {
		v, ok := ethtoolValue(fd, name, o.cmd)
		if !ok {
			continue
		}
		state := "off"
		if v != 0 {
			state = "on"
		}
		parts = append(parts, o.name+" "+state)
	}
	return strings.Join(parts, ", ")
}

// ethtoolValue runs one ethtool get command that answers a struct
// ethtool_value.
func ethtoolValue(fd int, name string, cmd uint32) (uint32, bool) {
	if len(name) >= unix.IFNAMSIZ {
		return 0, false
	}
	val := struct{ cmd, data uint32 }{cmd: cmd}
	// struct ifreq: the name, then a pointer to the command.
	var ifr struct {
		name [unix.IFNAMSIZ]byte
		data uintptr
		_    [16]byte
	}
	copy(ifr.name[:], name)
	ifr.data = uintptr(unsafe.Pointer(&val))
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	if errno != 0 {
		return 0, false
	}
	return val.data, true
}
