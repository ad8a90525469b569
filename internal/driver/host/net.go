package host

import (
	"fmt"
	"os/exec"
	"runtime"

	"github.com/vishvananda/netns"

	"github.com/isobench/isobench/internal/driver"
)

var _ driver.Networker = (*Instance)(nil)

// Network implements driver.Networker: for an instance made with
// Spec.Network, the veth link into its network namespace, in which its
// agent and every command it runs start. It is the baseline of the net
// workload: the same link as a container's, with the host kernel's
// network stack and no other isolation behind it.
func (in *Instance) Network() (driver.Network, bool) {
	if in.link == nil {
		return driver.Network{}, false
	}
	return in.link.Network(), true
}

// startCmd starts cmd, in the instance's network namespace when it has a
// link. The child inherits the network namespace of the OS thread that
// forks it: that thread is locked for the purpose, moved into the
// namespace, and never handed back to the Go scheduler (the goroutine
// ends locked, so the thread ends with it).
func (in *Instance) startCmd(cmd *exec.Cmd) error {
	if in.link == nil {
		return cmd.Start()
	}
	path := in.link.NetNSPath()
	if cmd.SysProcAttr != nil {
		// Pdeathsig fires when the forking thread ends, which this one
		// does at once; what a dead isobench leaves is for gc.
		cmd.SysProcAttr.Pdeathsig = 0
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: see above.
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- fmt.Errorf("opening network namespace %s: %w", path, err)
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("entering network namespace %s: %w", path, err)
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}
