package vmmtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/drivertest"
	"github.com/isobench/isobench/internal/driver/vmm"
	"github.com/isobench/isobench/internal/driver/vmm/apitest"
	"github.com/isobench/isobench/internal/guest/guesttest"
	"github.com/isobench/isobench/internal/testutil"
)

// BootAndQuit starts a stand-in of the API described in spec, boots and
// quits a guest through the controller newController makes for the
// stand-in's client (within 10 s), and returns the requests the stand-in
// got and their operations, in order. A failed Boot or Quit ends the test;
// a request that does not conform to the description is a test error.
func BootAndQuit(t *testing.T, spec string, newController func(api *vmm.APIClient) vmm.Controller) ([]apitest.Request, []string) {
	t.Helper()
	srv := apitest.NewServer(t, spec, nil)
	c := newController(vmm.NewAPIClient(srv.Socket))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Boot(ctx); err != nil {
		t.Fatalf("Boot: %v", err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	reqs := srv.Requests()
	var ops []string
	for _, r := range reqs {
		if r.Err != nil {
			t.Errorf("%v", r.Err)
		}
		ops = append(ops, r.Operation)
	}
	return reqs, ops
}

// Put is a PUT request to a VMM's API.
type Put struct {
	Path string
	Body any
}

// RejectsNonConforming checks the stand-in of the API described in spec
// itself: each request, outside the description, must be rejected, or the
// contract test proves nothing.
func RejectsNonConforming(t *testing.T, spec string, bad []Put) {
	t.Helper()
	srv := apitest.NewServer(t, spec, nil)
	api := vmm.NewAPIClient(srv.Socket)
	ctx := context.Background()
	for _, b := range bad {
		err := api.Do(ctx, "PUT", b.Path, b.Body, nil)
		var ae *vmm.APIError
		if !errors.As(err, &ae) {
			t.Errorf("PUT %s %v: error %v, want the stand-in to reject it", b.Path, b.Body, err)
		}
	}
}

// Real says how to run the shared driver suite on a real VMM.
type Real struct {
	// Binary is the VMM's executable, looked up in PATH.
	Binary string
	// Project names the VMM's project in the skip message of a host
	// without the binary ("the Firecracker project").
	Project string
	// TempPrefix starts the name of the temporary directory of the state
	// and run directories: short, since the instance directories under it
	// hold unix sockets.
	TempPrefix string
	// New makes the driver under test in env.
	New func(env driver.Env) (*vmm.Driver, error)
}

// RunSuite runs the shared driver suite (drivertest.Run) on the real VMM
// wherever it works: as root, with the binary, a guest kernel and a Probe
// that succeeds within 2 minutes. Elsewhere it skips with what is missing.
func RunSuite(t *testing.T, r Real) {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := exec.LookPath(r.Binary); err != nil {
		t.Skipf("%s not installed: no distribution packages it (install a release of %s); the contract test covers the driver's API use", r.Binary, r.Project)
	}
	guesttest.Kernel(t)
	dir, err := os.MkdirTemp("", r.TempPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	env := driver.Env{StateDir: filepath.Join(dir, "state"), RunDir: filepath.Join(dir, "run"), CacheDir: guesttest.CacheDir(t)}
	d, err := r.New(env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := d.Probe(ctx); errors.Is(err, driver.ErrNotSupported) {
		t.Skipf("%s does not work here: %v", d.Name(), err)
	} else if err != nil {
		t.Fatal(err)
	}
	drivertest.Run(t, d, testutil.MinimalImage(t), drivertest.WithEnv(env))
}
