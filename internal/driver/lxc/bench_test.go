package lxc

import (
	"testing"

	"github.com/isobench/isobench/internal/driver/drivertest"
	"github.com/isobench/isobench/internal/testutil"
)

// BenchmarkLifecycle reports the latencies a user of the driver pays:
// create (overlay, definition), start (until the agent is ready), one exec
// of /bin/true through lxc-attach, a clean stop, and close.
func BenchmarkLifecycle(b *testing.B) {
	requireLXC(b)
	d, err := New(testEnv(b), "")
	if err != nil {
		b.Fatal(err)
	}
	drivertest.BenchLifecycle(b, d, testutil.MinimalImage(b), "lxc-bench")
}
