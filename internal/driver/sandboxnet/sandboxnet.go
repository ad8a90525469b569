package sandboxnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

// Range is the IPv4 block sandbox links are cut from: the upper half of
// the link-local block, which no router forwards, so a link can never
// clash with a network the host reaches. Each link takes a /30 of it:
// .1 for the host end, .2 for the sandbox end.
var Range = netip.MustParsePrefix("169.254.128.0/17")

// slots is the number of /30 links in Range.
const slots = 1 << (32 - 17 - 2)

// Kinds of link.
const (
	KindVeth = "veth"
	KindTap  = "tap"
)

// SandboxDevice is the name of the sandbox end of a veth link, inside its
// network namespace.
const SandboxDevice = "eth0"

// netnsDir is where named network namespaces are bind-mounted (the
// place `ip netns` uses, so `ip netns list` shows isobench's).
const netnsDir = "/run/netns"

// devicePrefix starts the host device name of every link: "isb" and the
// slot number (interface names have at most 15 bytes, too few for
// driver.IDPrefix); the device's alias is the sandbox id, which starts
// with driver.IDPrefix.
const devicePrefix = "isb"

// recordVersion is the format version of link records.
const recordVersion = 1

// record is the state record of one link, written (exclusively, which
// reserves its slot) before anything is made and removed after all is
// gone.
type record struct {
	Version    int       `json:"version"`
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Slot       int       `json:"slot"`
	Device     string    `json:"device"`
	NetNS      string    `json:"netns,omitempty"`
	Created    time.Time `json:"created"`
	OwnerPID   int       `json:"owner_pid"`
	OwnerStart uint64    `json:"owner_start"`
}

// Link is one point-to-point link between the host and a sandbox.
type Link struct {
	rec      record
	stateDir string
	removed  bool
}

// NetNSPath returns the path of the sandbox's network namespace (veth
// links), for an OCI bundle's network namespace or setns(2).
func (l *Link) NetNSPath() string {
	if l.rec.NetNS == "" {
		return ""
	}
	return filepath.Join(netnsDir, l.rec.NetNS)
}

// Network describes the link (see driver.Network).
func (l *Link) Network() driver.Network {
	host, sandbox := addrs(l.rec.Slot)
	return driver.Network{HostAddr: host, SandboxAddr: sandbox.Addr(), HostDevice: l.rec.Device, Kind: l.rec.Kind}
}

// SandboxPrefix is the sandbox end's address with the link's prefix
// length, for a driver that configures the sandbox end itself (a VM
// guest).
func (l *Link) SandboxPrefix() netip.Prefix {
	_, sandbox := addrs(l.rec.Slot)
	return sandbox
}

// addrs returns the host and sandbox addresses of a slot.
func addrs(slot int) (host, sandbox netip.Prefix) { return SlotAddrs(Range, slot) }

// SlotAddrs returns the host and sandbox addresses (.1 and .2, with the
// /30) of the slot-th /30 link of block r.
func SlotAddrs(r netip.Prefix, slot int) (host, sandbox netip.Prefix) {
	b := r.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(slot) * 4
	a := func(x uint32) netip.Addr {
		return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	}
	return netip.PrefixFrom(a(v+1), 30), netip.PrefixFrom(a(v+2), 30)
}

func recordDir(stateDir string) string { return filepath.Join(stateDir, "net") }

func recordPath(stateDir string, slot int) string { return RecordPath(recordDir(stateDir), slot) }

// RecordName is the file name of a slot's state record.
func RecordName(slot int) string { return "slot-" + strconv.Itoa(slot) + ".json" }

// RecordPath is the path of a slot's state record in the records'
// directory dir.
func RecordPath(dir string, slot int) string { return filepath.Join(dir, RecordName(slot)) }

// FirstSlot is the slot, of slots, where the search for a free one for
// sandbox id starts.
func FirstSlot(id string, slots int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(slots))
}

// NewVeth makes the link of sandbox id as a veth pair: a network namespace
// named id (under /run/netns) holding the sandbox end, SandboxDevice, with
// its address, up, and loopback up; the host end with the host address,
// up. On error everything made is removed.
func NewVeth(ctx context.Context, stateDir, id string) (*Link, error) {
	return newLink(ctx, stateDir, id, KindVeth)
}

// NewTap makes the link of sandbox id as a persistent tap device with the
// host address, up, for a VMM to open by name (Network().HostDevice); the
// guest configures SandboxPrefix on its own device. On error everything
// made is removed.
func NewTap(ctx context.Context, stateDir, id string) (*Link, error) {
	return newLink(ctx, stateDir, id, KindTap)
}

func newLink(ctx context.Context, stateDir, id, kind string) (*Link, error) {
	if !strings.HasPrefix(id, driver.IDPrefix) || strings.ContainsAny(id, "/\x00") || len(id) > 200 {
		return nil, fmt.Errorf("sandbox network: bad sandbox id %q", id)
	}
	if !filepath.IsAbs(stateDir) {
		return nil, fmt.Errorf("sandbox network: state directory %q is not absolute", stateDir)
	}
	if err := os.MkdirAll(recordDir(stateDir), 0o700); err != nil {
		return nil, fmt.Errorf("sandbox network: %w", err)
	}
	start, ok := driverkit.ProcStartTime(os.Getpid())
	if !ok {
		return nil, errors.New("sandbox network: cannot read this process's start time")
	}
	first := FirstSlot(id, slots)
	var lastErr error
	for i := 0; i < slots; i++ {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sandbox network: %w", ctx.Err())
		}
		slot := (first + i) % slots
		rec := record{Version: recordVersion, ID: id, Kind: kind, Slot: slot,
			Device: devicePrefix + strconv.Itoa(slot), Created: time.Now().UTC(),
			OwnerPID: os.Getpid(), OwnerStart: start}
		if kind == KindVeth {
			rec.NetNS = id
		}
		taken, err := reserve(stateDir, rec)
		if err != nil {
			return nil, err
		}
		if taken {
			continue
		}
		l := &Link{rec: rec, stateDir: stateDir}
		err = l.make()
		if err == nil {
			return l, nil
		}
		cerr := l.Remove()
		if errors.Is(err, errDeviceExists) && cerr == nil {
			// Another isobench (with another state directory) holds the
			// slot; try the next.
			lastErr = err
			continue
		}
		return nil, errors.Join(err, cerr)
	}
	return nil, fmt.Errorf("sandbox network: no free link in %s: %w", Range, lastErr)
}

// reserve writes the record of a slot unless one exists.
func reserve(stateDir string, rec record) (taken bool, err error) {
	return WriteRecord(recordPath(stateDir, rec.Slot), rec)
}

// WriteRecord writes rec, in JSON, as the state record at path unless
// one is there (taken): written exclusively, it reserves the slot the
// path names. A record half written is removed.
func WriteRecord(path string, rec any) (taken bool, err error) {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("sandbox network: writing state record: %w", err)
	}
	_, werr := f.Write(append(b, '\n'))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(f.Name())
		return false, fmt.Errorf("sandbox network: writing state record: %w", werr)
	}
	return false, nil
}

var errDeviceExists = errors.New("device exists")

// make makes the link's devices (and namespace) and configures them.
func (l *Link) make() error {
	host, sandbox := addrs(l.rec.Slot)
	attrs := netlink.NewLinkAttrs()
	attrs.Name = l.rec.Device
	switch l.rec.Kind {
	case KindVeth:
		ns, err := newNamedNetNS(l.rec.NetNS)
		if err != nil {
			return err
		}
		defer ns.Close()
		veth := &netlink.Veth{LinkAttrs: attrs, PeerName: SandboxDevice, PeerNamespace: netlink.NsFd(int(ns))}
		if err := netlink.LinkAdd(veth); err != nil {
			if errors.Is(err, syscall.EEXIST) {
				return fmt.Errorf("sandbox network: veth %s: %w", attrs.Name, errDeviceExists)
			}
			return fmt.Errorf("sandbox network: making veth %s: %w", attrs.Name, err)
		}
		nh, err := netlink.NewHandleAt(ns)
		if err != nil {
			return fmt.Errorf("sandbox network: entering namespace %s: %w", l.rec.NetNS, err)
		}
		defer nh.Close()
		for _, name := range []string{"lo", SandboxDevice} {
			link, err := nh.LinkByName(name)
			if err != nil {
				return fmt.Errorf("sandbox network: %s in namespace %s: %w", name, l.rec.NetNS, err)
			}
			if name == SandboxDevice {
				if err := nh.LinkSetIP6AddrGenMode(link, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
					return fmt.Errorf("sandbox network: no IPv6 address on %s: %w", name, err)
				}
				if err := nh.AddrAdd(link, &netlink.Addr{IPNet: IPNet(sandbox)}); err != nil {
					return fmt.Errorf("sandbox network: address %s on %s: %w", sandbox, name, err)
				}
			}
			if err := nh.LinkSetUp(link); err != nil {
				return fmt.Errorf("sandbox network: bringing %s up in namespace %s: %w", name, l.rec.NetNS, err)
			}
		}
	case KindTap:
		tap := &netlink.Tuntap{LinkAttrs: attrs, Mode: netlink.TUNTAP_MODE_TAP,
			Flags: netlink.TUNTAP_NO_PI | netlink.TUNTAP_VNET_HDR | netlink.TUNTAP_ONE_QUEUE}
		if err := netlink.LinkAdd(tap); err != nil {
			if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.EBUSY) {
				return fmt.Errorf("sandbox network: tap %s: %w", attrs.Name, errDeviceExists)
			}
			return fmt.Errorf("sandbox network: making tap %s: %w", attrs.Name, err)
		}
	default:
		return fmt.Errorf("sandbox network: unknown link kind %q", l.rec.Kind)
	}
	link, err := netlink.LinkByName(l.rec.Device)
	if err != nil {
		return fmt.Errorf("sandbox network: %w", err)
	}
	// The link is IPv4 only: without an IPv6 link-local address the kernel
	// sends no duplicate-address or router-solicitation packets over the
	// link a measurement uses.
	return SetUpHostEnd(link, l.rec.ID, host, true)
}

// SetUpHostEnd labels the host end of sandbox id's link with its alias
// id, takes its IPv6 address away (noIPv6), gives it the address host
// and brings it up.
func SetUpHostEnd(link netlink.Link, id string, host netip.Prefix, noIPv6 bool) error {
	dev := link.Attrs().Name
	if err := netlink.LinkSetAlias(link, id); err != nil {
		return fmt.Errorf("sandbox network: labelling %s: %w", dev, err)
	}
	if noIPv6 {
		if err := netlink.LinkSetIP6AddrGenMode(link, nl.IN6_ADDR_GEN_MODE_NONE); err != nil {
			return fmt.Errorf("sandbox network: no IPv6 address on %s: %w", dev, err)
		}
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: IPNet(host)}); err != nil {
		return fmt.Errorf("sandbox network: address %s on %s: %w", host, dev, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("sandbox network: bringing %s up: %w", dev, err)
	}
	return nil
}

// IPNet is p as netlink's addresses take it.
func IPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
}

// newNamedNetNS makes a network namespace bind-mounted at
// /run/netns/name. The unshare happens on a thread of its own that is
// never given back to the Go scheduler (its goroutine ends locked, so the
// thread ends with it): no other goroutine ever runs in the new
// namespace by accident.
func newNamedNetNS(name string) (netns.NsHandle, error) {
	type res struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread goes when this goroutine ends.
		ns, err := netns.NewNamed(name)
		ch <- res{ns, err}
	}()
	r := <-ch
	if r.err != nil {
		// NewNamed may have made the file before failing to mount it;
		// one that was there before (EEXIST) is not this link's.
		if !errors.Is(r.err, os.ErrExist) {
			_ = removeNetNS(name)
		}
		return netns.None(), fmt.Errorf("sandbox network: making network namespace %s: %w", name, r.err)
	}
	return r.ns, nil
}

// removeNetNS unmounts and removes /run/netns/name; one that is not there
// is not an error.
func removeNetNS(name string) error {
	p := filepath.Join(netnsDir, name)
	if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("unmounting %s: %w", p, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", p, err)
	}
	return nil
}

// Remove deletes what the link made (the host device, which takes its
// veth peer with it, and the namespace), then its record. It is
// idempotent. A device is only deleted when its alias names this link's
// sandbox: a device of that name made by someone else is left alone.
func (l *Link) Remove() error {
	if l.removed {
		return nil
	}
	if err := removeRecordThings(l.rec); err != nil {
		return err
	}
	if err := os.Remove(recordPath(l.stateDir, l.rec.Slot)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sandbox network: removing state record: %w", err)
	}
	l.removed = true
	return nil
}

// removeRecordThings removes the device and namespace a record names.
func removeRecordThings(rec record) error {
	var errs []error
	if err := RemoveDevice(rec.Device, rec.ID); err != nil {
		errs = append(errs, err)
	}
	if rec.NetNS != "" {
		if rec.NetNS != rec.ID || !strings.HasPrefix(rec.NetNS, driver.IDPrefix) || strings.Contains(rec.NetNS, "/") {
			errs = append(errs, fmt.Errorf("sandbox network: record names namespace %q, not its sandbox's; not touching it", rec.NetNS))
		} else if err := removeNetNS(rec.NetNS); err != nil {
			errs = append(errs, fmt.Errorf("sandbox network: %w", err))
		}
	}
	return errors.Join(errs...)
}

// RemoveDevice deletes the host device of sandbox id's link, if it is
// there and its alias is id: a device of that name labelled otherwise
// is someone else's and is left alone.
func RemoveDevice(device, id string) error {
	link, err := netlink.LinkByName(device)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("sandbox network: %s: %w", device, err)
	}
	if link.Attrs().Alias != id {
		return nil
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("sandbox network: deleting %s: %w", device, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, syscall.ENODEV)
}

// readRecords reads every link record of a state directory.
func readRecords(stateDir string) ([]record, error) {
	return ReadRecords(recordDir(stateDir), "reading state records: ", func(name string, r record, err error) error {
		if err != nil {
			return fmt.Errorf("sandbox network: state record %s: %w", name, err)
		}
		if name != RecordName(r.Slot) || r.Device != devicePrefix+strconv.Itoa(r.Slot) {
			return fmt.Errorf("sandbox network: state record %s names slot %d, device %q", name, r.Slot, r.Device)
		}
		return nil
	})
}

// ReadRecords reads the state records (slot-N.json) of the records'
// directory dir, none if it is not there. Each is decoded into an R and
// given, with the decoding's error, to check, whose error leaves it out
// and is returned with the others (nil: the record is good). An error
// listing dir is returned alone, after "sandbox network: " and listing.
func ReadRecords[R any](dir, listing string, check func(name string, r R, err error) error) ([]R, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox network: %s%w", listing, err)
	}
	var out []R
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "slot-") || !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var r R
		err = json.Unmarshal(b, &r)
		if err := check(name, r, err); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// ownerAlive reports whether the isobench process that made a record
// still runs.
func (r record) ownerAlive() bool {
	return driverkit.Identity{PID: r.OwnerPID, Start: r.OwnerStart}.Alive()
}

// Collect removes the links whose owner no longer runs, from the records
// in stateDir, and returns a line for each. Links of live isobench
// processes, this one included, are left alone.
func Collect(ctx context.Context, stateDir string) ([]string, error) {
	recs, err := readRecords(stateDir)
	return CollectDead(ctx, recs, err, record.ownerAlive, func(r record) (string, error) {
		if err := removeRecordThings(r); err != nil {
			return "", err
		}
		if err := os.Remove(recordPath(stateDir, r.Slot)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		what := r.Device
		if r.NetNS != "" {
			what += " and network namespace " + r.NetNS
		}
		return fmt.Sprintf("removed sandbox network of %s: %s %s", r.ID, r.Kind, what), nil
	})
}

// CollectDead removes with remove each of recs whose owner no longer
// runs (alive says), until ctx ends, and returns the line remove gives
// for each. Its error joins readErr (reading recs) with the others.
func CollectDead[R any](ctx context.Context, recs []R, readErr error, alive func(R) bool, remove func(R) (string, error)) ([]string, error) {
	errs := []error{readErr}
	var lines []string
	for _, r := range recs {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if alive(r) {
			continue
		}
		line, err := remove(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		lines = append(lines, line)
	}
	return lines, errors.Join(errs...)
}

// Leftovers lists the links whose owner no longer runs (what Collect
// would remove), without removing anything.
func Leftovers(stateDir string) ([]driver.Leftover, error) {
	recs, err := readRecords(stateDir)
	var out []driver.Leftover
	for _, r := range recs {
		if r.ownerAlive() {
			continue
		}
		what := "sandbox network: " + r.Kind + " " + r.Device
		if r.NetNS != "" {
			what += ", network namespace " + r.NetNS
		}
		out = append(out, driver.Leftover{ID: r.ID, What: what, OwnerPID: r.OwnerPID, Created: r.Created})
	}
	return out, err
}
