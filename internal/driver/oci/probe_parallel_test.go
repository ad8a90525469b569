package oci

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"testing"

	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/testutil"
)

// TestProbesSideBySide probes runc and crun many times at once, while
// another goroutine forks, as `isobench run` and doctor do: each must work.
// A default run once skipped runc because its test sandbox's exec of a
// freshly copied busybox failed with "text file busy"; the race is rare
// and this test does not force it, but it must never see it.
func TestProbesSideBySide(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := driverkit.StaticBusybox("the test sandbox"); err != nil {
		t.Skip(err)
	}
	var names []string
	for _, n := range []string{"runc", "crun"} {
		if _, err := exec.LookPath(n); err == nil {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		t.Skip("neither runc nor crun is installed")
	}
	env := testEnv(t)
	// Other goroutines fork all the time in a run (runtimes, daemons,
	// QEMU), some into a new mount namespace, whose copy of the mount
	// table keeps the child a while before its exec (crun on a hybrid
	// cgroup host): here, one that does nothing else.
	stop := make(chan struct{})
	forked := make(chan struct{})
	go func() {
		defer close(forked)
		for {
			select {
			case <-stop:
				return
			default:
				c := exec.Command("true")
				c.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
				_ = c.Run()
			}
		}
	}()
	defer func() { close(stop); <-forked }()
	const each = 10
	var wg sync.WaitGroup
	errs := make(chan error, each*len(names))
	for i := 0; i < each; i++ {
		for _, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := New(env, n, "")
				if err == nil {
					_, err = d.Probe(context.Background())
				}
				if err != nil {
					errs <- fmt.Errorf("%s probe %d: %w", n, i, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assertEmptyDir(t, env.RunDir)
	assertEmptyDir(t, recordDir(env.StateDir))
}
