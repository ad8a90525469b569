package vmm

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
	"github.com/isobench/isobench/internal/guest"
)

// Transports of virtio devices.
const (
	TransportMMIO = "mmio"
	TransportPCI  = "pci"
)

// Family is what one VMM brings to the shared machinery: how to find it,
// how to lay out an instance's root disk, and how to start and stop a
// guest with it.
type Family interface {
	// Name is the runtime's name, e.g. "qemu-microvm".
	Name() string
	// VMM is the name its kernel needs are checked under (guest.VMM*).
	VMM() string
	// Transport is TransportMMIO or TransportPCI.
	Transport() string
	// NeedsKVM says whether the VMM works only with KVM (it has no
	// software emulation to fall back on).
	NeedsKVM() bool
	// Resolve finds the VMM's binary and version. An error matching
	// driver.ErrNotSupported says what is missing.
	Resolve(ctx context.Context) (binary, version string, err error)
	// RootDisk makes the instance's own copy-on-write root disk over the
	// shared base disk, in dir, and returns its path.
	RootDisk(ctx context.Context, base, dir string) (string, error)
	// KernelArgs are the guest kernel parameters this VMM needs besides
	// the common ones (console, panic, the initramfs's).
	KernelArgs(m *Machine, tscKHz int64) []string
	// Launch returns the VMM process of m, not started (the caller sets
	// its stdio: the guest's serial console is its stdin and stdout, its
	// stderr goes to a log), and the controller of its API. A machine
	// with Net gets a virtio-net device on the tap Net names.
	Launch(m *Machine) (*exec.Cmd, Controller, error)
	// NetBackend says, in words, what serves m's network device in the
	// VMM (its model and transport, and whether the kernel's vhost-net
	// or the VMM's own process moves the packets), for the link's path.
	NetBackend(m *Machine) string
}

// Controller drives a started VMM through its API.
type Controller interface {
	// Boot configures the VMM and starts the guest.
	Boot(ctx context.Context) error
	// Quit ends the guest at once; the VMM process exits.
	Quit(ctx context.Context) error
	// Close lets go of the API connection.
	Close() error
}

// Machine is what a Family needs to launch one guest.
type Machine struct {
	ID  string
	Dir string
	// Binary is the VMM's path.
	Binary string
	// Accel is AccelKVM or AccelTCG.
	Accel       string
	CPUs        int
	MemoryBytes int64
	// Kernel is the guest kernel; KernelPath the boot image the VMM is
	// given (the bzImage, or the ELF vmlinux for VMMs that need it).
	Kernel     *guest.Kernel
	KernelPath string
	Initramfs  string
	Cmdline    string
	// RootDisk is the instance's root disk; VolumeDisk the scratch volume
	// disk, "" when there is none.
	RootDisk   string
	VolumeDisk string
	// Net is the guest's network device, nil when it has none.
	Net *NetDevice
}

// NetDevice is a guest's virtio-net device on a host tap.
type NetDevice struct {
	// Tap is the host's tap device (made and addressed by isobench).
	Tap string
	// MAC is the guest device's MAC address (locally administered).
	MAC string
	// HostAddr is the tap's address, GuestAddr the guest's, both with
	// the link's prefix length.
	HostAddr, GuestAddr netip.Prefix
}

// Path returns the path of a file in the instance directory.
func (m *Machine) Path(name string) string { return filepath.Join(m.Dir, name) }

// Defaults of the guest's size.
const (
	DefaultCPUs        = 1
	DefaultMemoryBytes = 1 << 30
)

// Options tune a Driver.
type Options struct {
	// CacheDir is where the guest kernel is (isobench image kernel).
	CacheDir string
	// KVMProbeTimeout bounds the KVM probe guest (default 5s) of the
	// driver's own decider, made when driver.Env.KVM is nil.
	KVMProbeTimeout time.Duration
	// Accel forces an acceleration ("kvm" or "tcg"); "" chooses by probing.
	Accel string
}

// Driver is a microVM driver: the shared machinery with one Family.
type Driver struct {
	env  driver.Env
	fam  Family
	opts Options
	// kvm is the process's KVM decision (driver.Env.KVM), or the
	// driver's own when the environment has none.
	kvm driver.KVMDecider

	mu  sync.Mutex
	res *resolved
	// open are the guests this Driver made and has not closed: Collect
	// leaves them alone although their owner, this process, runs.
	open driverkit.OpenSet
	// probed is the result of the probe boot under probedAccel, once
	// done.
	probed      bool
	probedAccel string
	probeErr    error
	probeBoot   time.Duration
}

var (
	_ driver.Driver         = (*Driver)(nil)
	_ driver.Collector      = (*Driver)(nil)
	_ driver.LeftoverFinder = (*Driver)(nil)
)

// resolved is what a driver learns about the host once.
type resolved struct {
	binary, version string
	kvm             KVMStatus
	accel           string
	kernel          *guest.Kernel
	tscKHz          int64
	missing         []string // what keeps the driver from working here
	// noNet says why guests cannot have a network device ("" they can).
	noNet string
}

// New returns a driver of the family. It does not look at the host; Probe
// does.
func New(env driver.Env, fam Family, opts Options) (*Driver, error) {
	if env.RunDir == "" || !filepath.IsAbs(env.RunDir) {
		return nil, fmt.Errorf("%s: the run directory must be an absolute path, got %q", fam.Name(), env.RunDir)
	}
	if env.StateDir == "" || !filepath.IsAbs(env.StateDir) {
		return nil, fmt.Errorf("%s: the state directory must be an absolute path, got %q", fam.Name(), env.StateDir)
	}
	switch opts.Accel {
	case "", AccelKVM, AccelTCG:
	default:
		return nil, fmt.Errorf("%s: unknown acceleration %q (want kvm or tcg)", fam.Name(), opts.Accel)
	}
	if opts.Accel == AccelTCG && fam.NeedsKVM() {
		return nil, fmt.Errorf("%s has no software emulation: it needs KVM", fam.Name())
	}
	if opts.KVMProbeTimeout <= 0 {
		opts.KVMProbeTimeout = 5 * time.Second
	}
	kvm := env.KVM
	if kvm == nil {
		kvm = NewDecider(env.RunDir, opts.KVMProbeTimeout)
	}
	return &Driver{env: env, fam: fam, opts: opts, kvm: kvm}, nil
}

// Name returns the runtime's name.
func (d *Driver) Name() string { return d.fam.Name() }

// runtime is the name state records carry: the runtime's name without its
// variant, so that gc (which makes each runtime's driver without one)
// finds the guests of every variant.
func (d *Driver) runtime() string {
	name, _, _ := strings.Cut(d.fam.Name(), ":")
	return name
}

// resolve finds the VMM, the kernel and the acceleration, once. What is
// missing is collected, not returned at the first problem, so that doctor
// can say all of it.
func (d *Driver) resolve(ctx context.Context) *resolved {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.res != nil {
		return d.res
	}
	r := &resolved{}
	var err error
	r.binary, r.version, err = d.fam.Resolve(ctx)
	if err != nil {
		r.missing = append(r.missing, reason(err))
	}
	switch {
	case d.opts.Accel == AccelTCG:
		r.accel = AccelTCG
		r.kvm = KVMStatus{State: KVMUnknown, Reason: "not probed: software emulation (TCG) was asked for"}
	default:
		r.kvm = d.kvm.KVM(ctx)
		switch {
		case r.kvm.Usable() || (r.kvm.State == KVMUnknown && d.fam.NeedsKVM()):
			r.accel = AccelKVM
		case d.fam.NeedsKVM() || d.opts.Accel == AccelKVM:
			r.missing = append(r.missing, r.kvm.Short)
		default:
			r.accel = AccelTCG
		}
	}
	if d.opts.CacheDir == "" {
		r.missing = append(r.missing, "no cache directory to find the guest kernel in")
	} else if k, err := guest.DefaultKernel(d.opts.CacheDir); err != nil {
		if errors.Is(err, guest.ErrNoKernel) {
			r.missing = append(r.missing, "no guest kernel: run isobench image kernel (it fetches the distribution's kernel package, or takes --kernel PATH --modules DIR)")
		} else {
			r.missing = append(r.missing, "guest kernel: "+err.Error())
		}
	} else {
		r.kernel = k
		if _, err := k.LoadOrder("virtio_net"); err != nil {
			r.noNet = "the guest kernel has no virtio_net driver (built in or a module isobench image kernel kept): " + err.Error()
		}
		if err := guest.CheckKernelFor(k, d.fam.VMM(), r.version); err != nil {
			var fit *guest.KernelFitError
			if errors.As(err, &fit) {
				r.missing = append(r.missing, fit.Short()+" (isobench image kernel says more)")
			} else {
				r.missing = append(r.missing, err.Error())
			}
		}
	}
	if r.accel == AccelTCG {
		r.tscKHz = TSCKHz()
	}
	if ctx.Err() == nil {
		d.res = r // a cancelled probe is not remembered
	}
	return r
}

func reason(err error) string {
	var ns *driver.NotSupportedError
	if errors.As(err, &ns) {
		return ns.Reason
	}
	return err.Error()
}

// ready returns the resolved host facts, or a NotSupported error naming
// everything missing.
func (d *Driver) ready(ctx context.Context) (*resolved, error) {
	r := d.resolve(ctx)
	if len(r.missing) > 0 {
		return r, driver.NotSupported(d.Name(), "%s", strings.Join(r.missing, "; "))
	}
	return r, nil
}

// Probe says whether guests of this VMM run here. It finds the VMM, takes
// the process's KVM decision (a tiny guest that must really run within
// seconds, probed once per process), checks the guest kernel against what
// the VMM needs, and boots a probe guest: the guest kernel and initramfs,
// which power off at once. Everything missing is named in one
// NotSupported error. Without working KVM, QEMU runs guests in software
// emulation (TCG), which Info records in Features["accel"] (with
// "kvm_reason") and a warning; a probe guest that fails under KVM falls
// back to TCG the same way (see bootProbeGuest), never skipping a runtime
// that TCG runs.
func (d *Driver) Probe(ctx context.Context) (driver.Info, error) {
	r, err := d.ready(ctx)
	info := driver.Info{
		Name:      d.Name(),
		Version:   r.version,
		Isolation: driver.IsolationVM,
		Features: map[string]string{
			"vmm":       d.fam.VMM(),
			"transport": "virtio-" + d.fam.Transport(),
			"kvm":       r.kvm.State,
			"cpus":      strconv.Itoa(DefaultCPUs),
			"memory":    strconv.FormatInt(DefaultMemoryBytes, 10),
		},
	}
	if r.binary != "" {
		info.Features["binary"] = r.binary
	}
	if r.kernel != nil {
		info.Features["kernel"] = r.kernel.Release
		if r.noNet == "" {
			info.Features[driver.FeatureNetwork] = sandboxnet.KindTap
		}
	}
	if err != nil {
		return info, err
	}
	r, boot, err := d.bootProbeGuest(ctx, r)
	info.Features["kvm"] = r.kvm.State
	info.Features["accel"] = r.accel
	if r.accel == AccelTCG {
		info.Warnings = append(info.Warnings, TCGWarning)
		if r.kvm.Reason != "" {
			info.Features["kvm_reason"] = r.kvm.Reason
		}
	}
	if err != nil {
		return info, err
	}
	info.Features["probe_boot"] = boot.Round(time.Millisecond).String()
	return info, nil
}

// Collect removes what isobench processes that no longer run left of this
// runtime's guests: for each state record whose owner is gone (or is this
// process, for a guest this Driver does not hold open), it kills the VMM
// process it names (only if its start time still matches: never a reused
// pid), removes the instance directory (disks, sockets, logs) and last the
// record. It returns a line for each thing removed.
func (d *Driver) Collect(ctx context.Context) ([]string, error) {
	records, err := readRecords(d.env.StateDir, d.runtime())
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	var lines []string
	self := os.Getpid()
	for _, r := range records {
		if r.ownerAlive() && (r.OwnerPID != self || d.open.Has(r.ID)) {
			continue
		}
		l, err := d.collectRecord(ctx, r)
		lines = append(lines, l...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.ID, err))
		}
	}
	// The taps of dead owners' guests, now that their VMMs are gone
	// (every driver of this state directory may do it).
	l, err := sandboxnet.Collect(ctx, d.env.StateDir)
	lines = append(lines, l...)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return lines, fmt.Errorf("%s: collect: %w", d.Name(), errors.Join(errs...))
	}
	return lines, nil
}

func (d *Driver) collectRecord(ctx context.Context, r record) ([]string, error) {
	if r.Dir != filepath.Join(d.env.RunDir, r.ID) {
		return nil, fmt.Errorf("state record names directory %q, not %s under this run directory; not touching it", r.Dir, r.ID)
	}
	var lines []string
	if r.vmmAlive() {
		if err := killGroup(ctx, r.VMMPID); err != nil {
			return lines, err
		}
		lines = append(lines, fmt.Sprintf("killed %s process %d of %s", d.fam.VMM(), r.VMMPID, r.ID))
	}
	if _, err := os.Lstat(r.Dir); err == nil {
		if err := os.RemoveAll(r.Dir); err != nil {
			return lines, fmt.Errorf("removing %s: %w", r.Dir, err)
		}
		lines = append(lines, "removed directory "+r.Dir)
	}
	if err := stateRecords(d.env.StateDir).Remove(r.ID); err != nil {
		return lines, err
	}
	return append(lines, "removed state record of "+r.ID), nil
}

// Leftovers lists, without removing anything, the guests of isobench
// processes that no longer run.
func (d *Driver) Leftovers(ctx context.Context) ([]driver.Leftover, error) {
	records, err := readRecords(d.env.StateDir, d.runtime())
	var out []driver.Leftover
	for _, r := range records {
		if r.ownerAlive() {
			continue
		}
		what := d.fam.VMM() + " guest directory"
		if r.vmmAlive() {
			what = d.fam.VMM() + " process " + strconv.Itoa(r.VMMPID) + " and guest directory"
		}
		if r.Tap != "" {
			what += ", maybe tap " + r.Tap
		}
		out = append(out, driver.Leftover{ID: r.ID, What: what, OwnerPID: r.OwnerPID, Created: r.Created})
	}
	return out, err
}

func execCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}
