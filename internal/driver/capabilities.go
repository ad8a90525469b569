package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Optional capabilities. An Instance implements the ones it can; workloads
// find them by type assertion and record, when one is missing, that the
// figure it would give is absent (never a made-up value). They are what
// the startup, density and net workloads build on:
//
//   - StartTimer (startup): when, within Start, the runtime had launched
//     the sandbox and when the agent inside said it was ready.
//   - HostProcesses (density, see hostproc.go): the host processes of the
//     sandbox, whose proportional memory (PSS) is its memory cost.
//   - HostCgroups (density): the host cgroups the sandbox is confined in,
//     whose memory use is charged to it.
//   - Networker (net): the link between the host and a sandbox made with
//     Spec.Network.
//   - OneShot (startup): a run-to-completion sandbox, whose only process is
//     a command rather than the agent.

// StartTiming splits one Start in two phases, on the host's monotonic
// clock (times taken with time.Now in this process).
//
//   - Begin: Start was called.
//   - Launched: the runtime's operation that runs the sandbox returned:
//     its processes exist and the runtime has let it go, but nothing
//     inside is known to run yet. For an OCI runtime it is when
//     `<runtime> run --detach` exited; for the host baseline when the
//     agent's process was started (fork and exec returned); for a VMM when
//     the VMM process runs and has accepted the boot (Firecracker's
//     InstanceStart answered, QEMU's process started with its QMP socket
//     answering); for an engine when its start call returned.
//   - Ready: the host read the agent's Ready line, the first message from
//     inside the sandbox. Between Launched and Ready lie the sandbox's own
//     start (a guest kernel's boot, gVisor's sentry starting the agent) and
//     the delivery of the line to the host (a log file the driver polls,
//     a serial console or vsock): drivers say in their doc how finely
//     they notice it (the OCI driver polls at most 1 ms apart).
//
// Begin ≤ Launched ≤ Ready.
type StartTiming struct {
	Begin    time.Time
	Launched time.Time
	Ready    time.Time
}

// Check says whether the times are in order and set.
func (s StartTiming) Check() error {
	switch {
	case s.Begin.IsZero() || s.Launched.IsZero() || s.Ready.IsZero():
		return errors.New("start timing: a time is missing")
	case s.Launched.Before(s.Begin):
		return fmt.Errorf("start timing: launched %s before the start began", s.Begin.Sub(s.Launched))
	case s.Ready.Before(s.Launched):
		return fmt.Errorf("start timing: ready %s before launched", s.Launched.Sub(s.Ready))
	}
	return nil
}

// StartTimer is implemented by instances that can split their Start into
// launch and ready (see StartTiming).
type StartTimer interface {
	// StartTiming returns the timing of the instance's successful Start;
	// ok is false before one (or after a failed one).
	StartTiming() (t StartTiming, ok bool)
}

// HostCgroups is implemented by instances whose sandbox runs in host
// cgroups that isobench made for it (one directory per v1 hierarchy, or one
// cgroup2 directory). It returns their absolute paths in the cgroup
// filesystem, none when the sandbox does not run.
type HostCgroups interface {
	HostCgroups() []string
}

// CgroupMemory returns the memory charged to a cgroup, in bytes, from the
// first of dirs that has a memory controller: memory.current (cgroup v2)
// or memory.usage_in_bytes (v1). Both count the pages the cgroup's
// processes use, anonymous and page cache, and kernel memory charged to
// it. ok is false when no directory has a memory controller.
func CgroupMemory(dirs []string) (bytes int64, ok bool, err error) {
	for _, d := range dirs {
		for _, name := range []string{"memory.current", "memory.usage_in_bytes"} {
			b, rerr := os.ReadFile(filepath.Join(d, name))
			if errors.Is(rerr, os.ErrNotExist) {
				continue
			}
			if rerr != nil {
				return 0, false, fmt.Errorf("cgroup memory: %w", rerr)
			}
			v, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if perr != nil || v < 0 {
				return 0, false, fmt.Errorf("cgroup memory: %s: not a size: %q", filepath.Join(d, name), strings.TrimSpace(string(b)))
			}
			return v, true, nil
		}
	}
	return 0, false, nil
}

// Network is the link between the host and a sandbox made with
// Spec.Network: one point-to-point IPv4 network of its own, /30, with an
// address on each end, that isobench made and assigned (package
// driver/sandboxnet allocates the addresses and makes veth pairs, network
// namespaces and tap devices).
//
// The contract of Spec.Network, for every driver that offers it:
//
//   - The sandbox has exactly one network device besides loopback, with
//     SandboxAddr, up, and loopback up. Nothing else is reachable: no
//     default route, no NAT, no bridge to the host's networks.
//   - The host has HostDevice (a veth end, or the tap a VMM uses) with
//     HostAddr, up, so that a host process reaches SandboxAddr directly.
//   - Kind "bridge" is a container engine's own bridge network, as its
//     run command gives it: the sandbox's veth is a port of the bridge
//     HostDevice, which has HostAddr with the bridge's prefix (shared by
//     the engine's sandboxes, so wider than /30), and the sandbox may have
//     the engine's default route through it. The engine's daemon names
//     the sandbox's address when the container starts: Network is only
//     sure to be known once Start returned, so callers ask after Start.
//   - Everything made for it is named by isobench, tracked in a state
//     record before it is made, removed by Close, and collected by gc
//     when its owner died (sandboxnet.Collect).
//   - A driver that cannot give a sandbox such a link fails Create with an
//     error matching ErrNotSupported that says why.
//   - A driver that can says so in Info.Features[FeatureNetwork] (the
//     link's kind, "veth" or "tap"), so that workloads that need a network
//     are skipped, with the reason, on runtimes without.
type Network struct {
	// HostAddr is the host end's address with the link's prefix length.
	HostAddr netip.Prefix
	// SandboxAddr is the sandbox end's address, on the same /30.
	SandboxAddr netip.Addr
	// HostDevice is the host end's device (veth or tap).
	HostDevice string
	// Kind is "veth", "tap" or "bridge".
	Kind string
	// Path says, in words, what the sandbox's traffic crosses on the host
	// (devices, their MTU and offloads), for results to carry; "" when
	// the driver does not say.
	Path string
	// Note says what every result over the link must carry, e.g. which
	// network stack serves the sandbox when it is not the technology's
	// usual one; "" when there is nothing to say.
	Note string
}

// Networker is implemented by instances that can have a network (see
// Network). Network returns the link of an instance made with
// Spec.Network; ok is false for one made without.
type Networker interface {
	Network() (n Network, ok bool)
}

// FeatureNetwork is the Info.Features key of drivers that implement
// Spec.Network; its value is the link's kind ("veth", "tap", "bridge", or
// "cni": a pod's IP on a cluster's pod network, reached by this host's
// route to it).
const FeatureNetwork = "network"

// FeatureNetworkRefused is the Info.Features key of a driver that could
// give a sandbox a network but found it cannot here; its value says why
// (for the workloads that need one to say so when they skip).
const FeatureNetworkRefused = "network_refused"

// OneShot is implemented by instances that can run a command as the
// sandbox's first and only process, to completion, in place of the agent:
// the life of a run-to-completion sandbox, as `runc run` or
// `docker run --rm` give it. RunOnce replaces Start (the instance must not
// have been started) and returns when the command exited and the runtime
// let the sandbox go; a non-zero exit is an *ExitError. Close is still to be
// called, and frees what is left.
//
// It returns how long the runtime's own invocation took, from just before
// its process started to its exit: what a user of `runc run` waits for,
// without the driver's preparation (writing the command into the bundle),
// so that the figure compares with the runtime invoked by hand. It is 0
// when the runtime did not run.
type OneShot interface {
	RunOnce(ctx context.Context, argv []string, stdout, stderr io.Writer) (time.Duration, error)
}
