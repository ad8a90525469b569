package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/runner"
	"github.com/isobench/isobench/internal/testutil"
)

// mkdirProbe is a driver whose probe makes a directory of its own in the
// run directory, as the engine drivers do, with mode 0700: made first, it
// would make the run directory 0700 too.
type mkdirProbe struct{ env driver.Env }

func (m mkdirProbe) Name() string { return "mkdir" }
func (m mkdirProbe) Probe(context.Context) (driver.Info, error) {
	return driver.Info{}, os.MkdirAll(filepath.Join(m.env.RunDir, "engine", "mkdir"), 0o700)
}
func (m mkdirProbe) Create(context.Context, driver.Spec) (driver.Instance, error) {
	return nil, driver.NotSupported("mkdir", "a test driver")
}

// TestRunDirBeforeProbes: on a fresh --state-dir, the run directory has
// mode 0711 after the probes of several drivers ran at once, whichever came
// first (Incus's unprivileged containers reach their root filesystems
// through it); a run directory left 0700 is repaired.
func TestRunDirBeforeProbes(t *testing.T) {
	testutil.RequireRoot(t)
	// The directories above must be searchable too, as /var/lib is: a
	// test's temporary directory is made 0700.
	top, err := os.MkdirTemp("", "isobench-dirs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if err := os.Chmod(top, 0o711); err != nil {
		t.Fatal(err)
	}
	reg := builtin.Drivers()
	reg.Register("mkdir", "test", func(env driver.Env, _ string) (driver.Driver, error) { return mkdirProbe{env}, nil })
	names := []string{"mkdir", "host", "runc", "crun", "lxc", "incus"}
	if testing.Short() {
		names = names[:2]
	}

	for _, c := range []struct {
		name    string
		prepare func(base string) error
	}{
		{"fresh", func(string) error { return nil }},
		{"repaired", func(base string) error {
			if err := os.MkdirAll(filepath.Join(base, "run"), 0o700); err != nil {
				return err
			}
			return os.Chmod(filepath.Join(base, "run"), 0o700)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := filepath.Join(top, c.name)
			if err := c.prepare(base); err != nil {
				t.Fatal(err)
			}
			a := &app{env: Env{UID: 0, Getenv: func(string) string { return "" }}, stateDir: base, cacheDir: filepath.Join(top, "cache")}
			denv, err := a.driverEnv()
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			results := runner.ProbeAll(ctx, reg, denv, names, 2*time.Minute)
			if err := runner.CloseDrivers(results); err != nil {
				t.Log(err)
			}
			for _, p := range results {
				t.Logf("%s: %v", p.Name, p.Err)
				if p.Err != nil && strings.Contains(p.Err.Error(), "not searchable") {
					t.Errorf("%s: %v", p.Name, p.Err)
				}
			}
			for p, want := range map[string]os.FileMode{base: 0o711, denv.RunDir: 0o711, denv.StateDir: 0o700} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("%s: mode %04o, want %04o", p, got, want)
				}
			}
		})
	}
}
