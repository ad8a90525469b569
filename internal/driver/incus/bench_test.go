package incus

import (
	"context"
	"testing"

	"github.com/isobench/isobench/internal/driver/drivertest"
	"github.com/isobench/isobench/internal/testutil"
)

// BenchmarkLifecycle reports the latencies a user of the driver pays:
// create (overlay, definition), start (until the agent is ready), one exec
// of /bin/true through the exec API, a clean stop, and close.
func BenchmarkLifecycle(b *testing.B) {
	requireIncus(b)
	d, err := New(testEnv(b), "", WithPrivateDaemon())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	img := testutil.MinimalImage(b)
	// The image import and daemon start are paid once, not per sandbox.
	if _, err := d.Probe(context.Background()); err != nil {
		b.Fatal(err)
	}
	drivertest.BenchLifecycle(b, d, img, "incus-bench")
}
