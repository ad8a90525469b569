package drivertest

import (
	"context"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
)

// StartTimed creates and starts a sandbox of spec with d, checks the start
// timing it reports (driver.StartTimer), and closes it when the test ends,
// failing the test if Close does. Drivers' own tests of what a sandbox is
// inside (a system container's init, its cgroups) begin with it.
func StartTimed(t *testing.T, d driver.Driver, spec driver.Spec) driver.Instance {
	t.Helper()
	ctx := context.Background()
	inst, err := d.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := inst.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := inst.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st, ok := inst.(driver.StartTimer)
	if !ok {
		t.Fatalf("%s instances do not report their start timing (driver.StartTimer)", d.Name())
	}
	timing, ok := st.StartTiming()
	if !ok || timing.Check() != nil {
		t.Errorf("start timing %+v, %v: %v", timing, ok, timing.Check())
	}
	t.Logf("launched after %s, ready %s later", timing.Launched.Sub(timing.Begin), timing.Ready.Sub(timing.Launched))
	return inst
}

// ShellCases are scripts for `/bin/sh -c` in a sandbox, each with a name
// and the exact output it must print.
type ShellCases []struct{ Name, Script, Want string }

// RunShellCases runs each case in inst as a subtest.
func RunShellCases(t *testing.T, inst driver.Instance, cases ShellCases) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var out, errOut strings.Builder
			if err := inst.Exec(context.Background(), []string{"/bin/sh", "-c", tc.Script}, &out, &errOut); err != nil {
				t.Fatalf("%s: %v (stderr %q)", tc.Script, err, errOut.String())
			}
			if out.String() != tc.Want {
				t.Errorf("%s: got %q, want %q", tc.Script, out.String(), tc.Want)
			}
		})
	}
}
