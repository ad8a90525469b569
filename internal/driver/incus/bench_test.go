package incus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/testutil"
)

// BenchmarkLifecycle reports the latencies a user of the driver pays:
// create (overlay, definition), start (until the agent is ready), one exec
// of /bin/true through the exec API, a clean stop, and close.
func BenchmarkLifecycle(b *testing.B) {
	requireIncus(b)
	d, err := New(testEnv(b), "", false, WithPrivateDaemon())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	img := testutil.MinimalImage(b)
	// The image import and daemon start are paid once, not per sandbox.
	if _, err := d.Probe(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var create, start, exec, stop, closing time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		inst, err := d.Create(ctx, driver.Spec{ID: fmt.Sprintf("%sincus-bench-%d", driver.IDPrefix, i), Image: img})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := inst.Start(ctx); err != nil {
			inst.Close()
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := inst.Exec(ctx, []string{"/bin/true"}, nil, nil); err != nil {
			inst.Close()
			b.Fatal(err)
		}
		t3 := time.Now()
		if err := inst.Stop(ctx); err != nil {
			inst.Close()
			b.Fatal(err)
		}
		t4 := time.Now()
		if err := inst.Close(); err != nil {
			b.Fatal(err)
		}
		t5 := time.Now()
		create += t1.Sub(t0)
		start += t2.Sub(t1)
		exec += t3.Sub(t2)
		stop += t4.Sub(t3)
		closing += t5.Sub(t4)
	}
	n := float64(b.N)
	b.ReportMetric(create.Seconds()/n*1e3, "create-ms")
	b.ReportMetric(start.Seconds()/n*1e3, "start-ms")
	b.ReportMetric(exec.Seconds()/n*1e3, "exec-ms")
	b.ReportMetric(stop.Seconds()/n*1e3, "stop-ms")
	b.ReportMetric(closing.Seconds()/n*1e3, "close-ms")
}
