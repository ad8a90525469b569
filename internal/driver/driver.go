package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/isobench/isobench/internal/image"
)

// ErrNotSupported is matched (with errors.Is) by every error that means "this
// cannot run on this host", as opposed to a failure of something that should
// have worked.
var ErrNotSupported = errors.New("not supported on this host")

// NotSupportedError says why a driver or workload cannot run here.
type NotSupportedError struct {
	What   string // e.g. "runsc" or "runsc: platform kvm"
	Reason string // plain words: "binary runsc not found in PATH"
}

func (e *NotSupportedError) Error() string {
	if e.What == "" {
		return e.Reason
	}
	return e.What + ": " + e.Reason
}

// Is makes errors.Is(err, ErrNotSupported) true.
func (e *NotSupportedError) Is(target error) bool { return target == ErrNotSupported }

// NotSupported returns a NotSupportedError with a formatted reason.
func NotSupported(what, format string, args ...any) error {
	return &NotSupportedError{What: what, Reason: fmt.Sprintf(format, args...)}
}

// ExitError reports that a command run by Exec ran and exited non-zero.
type ExitError struct {
	Code   int
	Stderr string // the tail of what the runtime or command wrote, if known
}

func (e *ExitError) Error() string {
	if e.Stderr != "" {
		return fmt.Sprintf("exit status %d: %s", e.Code, strings.TrimSpace(e.Stderr))
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// Isolation classes, from least to most isolated.
const (
	IsolationNone       = "none"             // the host baseline
	IsolationContainer  = "container"        // namespaces and cgroups on the host kernel
	IsolationUserKernel = "user-kernel"      // an application kernel (gVisor)
	IsolationSystem     = "system-container" // a whole system with its own init
	IsolationVM         = "vm"               // a guest kernel on a hypervisor
)

// Info describes a runtime as probed on this host.
type Info struct {
	Name      string            // the name runs use, e.g. "runsc" or "docker:runsc"
	Version   string            // as the runtime reports it
	Isolation string            // one of the Isolation constants
	Features  map[string]string // e.g. "platform": "ptrace", "accel": "tcg"
	// Warnings are facts every result of this runtime must carry, e.g.
	// "software emulation (TCG): not comparable with hardware numbers".
	Warnings []string
}

// Scratch kinds: where a workload's files live.
const (
	ScratchRootfs = "rootfs" // the sandbox's own copy-on-write root
	ScratchVolume = "volume" // a host directory bind-mounted in
	ScratchTmpfs  = "tmpfs"  // memory
)

// ScratchPath is where the scratch directory appears inside every sandbox.
const ScratchPath = "/scratch"

// Spec says what sandbox to make.
type Spec struct {
	// ID is unique on the host and starts with IDPrefix.
	ID    string
	Image *image.Image
	// Scratch is one of the Scratch kinds; "" means ScratchRootfs.
	Scratch string
	// CPUs and MemoryBytes bound the sandbox where the driver can; 0 means the
	// driver's default.
	CPUs        int
	MemoryBytes int64
	// Network gives the sandbox a link of its own to the host (one device
	// on a /30 isobench assigns; see Network in capabilities.go for the
	// contract); false means none, only loopback.
	Network bool
	// Labels are attached to everything the driver makes, where it can.
	Labels map[string]string
}

// IDPrefix starts every name isobench gives to a host resource, so that gc can
// find them and nothing else.
const IDPrefix = "isobench-"

// Driver makes sandboxes of one kind.
type Driver interface {
	// Name is the runtime's name as users write it.
	Name() string
	// Probe says whether the driver works here, trying rather than guessing.
	// It returns an error matching ErrNotSupported with the reason when not.
	Probe(ctx context.Context) (Info, error)
	// Create prepares a sandbox; nothing runs until Start.
	Create(ctx context.Context, spec Spec) (Instance, error)
}

// Instance is one sandbox.
type Instance interface {
	// Start runs the sandbox; ctx bounds the start only. It may be called once.
	Start(ctx context.Context) error
	// Exec runs argv inside the running sandbox, copying its output. A command
	// that ran and exited non-zero returns *ExitError.
	Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) error
	// Stop ends the sandbox. It is idempotent.
	Stop(ctx context.Context) error
	// Close frees every host resource of the instance. It is idempotent and
	// safe after a failed Start or none.
	Close() error
}

// Scratcher is implemented by instances whose scratch directory is not at
// ScratchPath inside the sandbox (the host baseline).
type Scratcher interface {
	ScratchDir() string
}

// ScratchDir returns where the instance's scratch directory is, as seen by
// commands run with Exec.
func ScratchDir(in Instance) string {
	if s, ok := in.(Scratcher); ok {
		return s.ScratchDir()
	}
	return ScratchPath
}

// Env is what every driver is given by the program that builds it.
type Env struct {
	// StateDir holds records of what isobench made on this host (for gc).
	StateDir string
	// RunDir holds per-instance working files (bundles, overlay layers).
	// The program makes it before any driver runs, with the mode
	// unprivileged system containers need (driverkit.PrepareDirs).
	RunDir string
	// CacheDir is isobench's cache directory (built images, the guest
	// kernel of VM drivers); "" when the program has none.
	CacheDir string
	// TrustImage allows drivers without isolation (the host baseline) to
	// run the programs of an imported image, as root on the host. Without
	// it they refuse any image that isobench did not build from the
	// host's own tools (image.Image.FromHost). Only the user's explicit
	// word (run --trust-image) sets it.
	TrustImage bool
	// KVM is the process's one decision whether VM guests get KVM or
	// software emulation, shared by every VM driver and doctor; nil lets
	// each VM driver decide for itself.
	KVM KVMDecider
}

// Factory makes a driver for one variant ("" for the default one), e.g. the
// runsc factory with variant "ptrace".
type Factory func(env Env, variant string) (Driver, error)

// Registry lists the drivers a program knows, by name, in a fixed order.
type Registry struct {
	names     []string
	factories map[string]Factory
	docs      map[string]string
}

// Register adds a driver family under name with a one-line description. It
// panics on a duplicate name, which is a programming error.
func (r *Registry) Register(name, doc string, f Factory) {
	if r.factories == nil {
		r.factories = map[string]Factory{}
		r.docs = map[string]string{}
	}
	if _, dup := r.factories[name]; dup {
		panic("driver: duplicate registration of " + name)
	}
	r.names = append(r.names, name)
	r.factories[name] = f
	r.docs[name] = doc
}

// Names lists the registered names in registration order.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }

// Doc returns the one-line description of a registered name.
func (r *Registry) Doc(name string) string { return r.docs[name] }

// New makes the driver for a runtime reference "name" or "name:variant".
func (r *Registry) New(env Env, ref string) (Driver, error) {
	name, variant, _ := strings.Cut(ref, ":")
	f, ok := r.factories[name]
	if !ok {
		known := append([]string(nil), r.names...)
		sort.Strings(known)
		return nil, fmt.Errorf("unknown runtime %q (known: %s)", ref, strings.Join(known, ", "))
	}
	d, err := f(env, variant)
	if err != nil {
		return nil, fmt.Errorf("runtime %q: %w", ref, err)
	}
	return d, nil
}

// CloseDriver ends what a driver holds beyond its instances, for drivers
// that hold something: those implementing io.Closer, such as an engine
// driver that started a private daemon and stops it when its last user
// closes. The program that made a driver calls CloseDriver once it has
// closed every instance of it (after a run, a doctor's probe, a gc);
// Close is idempotent, and a driver used again afterwards acquires what it
// needs anew. Drivers without such resources need nothing.
func CloseDriver(d Driver) error {
	if c, ok := d.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Collector is implemented by drivers that can find and remove what earlier
// isobench processes left on the host (after a crash or SIGKILL). It removes
// only resources isobench made (by prefix, label or state record) and
// returns a line for each thing it removed.
type Collector interface {
	Collect(ctx context.Context) ([]string, error)
}
