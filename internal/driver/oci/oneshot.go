package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

var _ driver.OneShot = (*instance)(nil)

// RunOnce implements driver.OneShot: argv becomes the process of the
// sandbox's bundle and `<runtime> run` runs it in the foreground, as
// `runc run` invoked by hand does; the runtime deletes the container when
// the process exits. The sandbox's output goes to stdout and stderr.
func (in *instance) RunOnce(ctx context.Context, argv []string, stdout, stderr io.Writer) (time.Duration, error) {
	if len(argv) == 0 {
		return 0, errors.New("run once: empty command")
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.phase != driverkit.PhaseCreated {
		return 0, fmt.Errorf("%s: run once %s: instance is %s; RunOnce replaces Start", in.d.Name(), in.spec.ID, in.phase)
	}
	if err := setProcessArgs(in.dir, argv); err != nil {
		return 0, fmt.Errorf("%s: run once %s: %w", in.d.Name(), in.spec.ID, err)
	}
	// Whatever the runtime leaves (a failed run, an interrupt) is removed
	// by Close, as after Start.
	in.container = in.undo.Push("container", func() error {
		tctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_, err := teardown(tctx, in.rt, in.cg, in.spec.ID, in.dir)
		return err
	})
	in.phase = driverkit.PhaseStopped
	cmd := in.rt.command(ctx, "run", "--bundle", in.dir, in.spec.ID)
	tail := driverkit.NewTailBuffer(2048)
	cmd.Stdout = stdout
	if stderr == nil {
		stderr = io.Discard
	}
	cmd.Stderr = io.MultiWriter(stderr, tail)
	cmd.WaitDelay = waitDelay
	begin := time.Now()
	err := cmd.Run()
	took := time.Since(begin)
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return took, &driver.ExitError{Code: ee.ExitCode(), Stderr: tail.String()}
	}
	if err != nil {
		return took, fmt.Errorf("%s: run once %s: %w: %s", in.d.Name(), in.spec.ID, err, tail.String())
	}
	return took, nil
}

// setProcessArgs rewrites the bundle's process arguments.
func setProcessArgs(bundle string, argv []string) error {
	path := filepath.Join(bundle, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config.json: %w", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("decoding config.json: %w", err)
	}
	if s.Process == nil {
		return errors.New("config.json has no process")
	}
	s.Process.Args = append([]string(nil), argv...)
	return writeSpec(bundle, &s)
}

// BundleDir returns the instance's OCI bundle directory, for tools that
// compare isobench with the runtime invoked by hand on the same bundle.
func (in *instance) BundleDir() string { return in.dir }
