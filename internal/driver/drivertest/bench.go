package drivertest

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
)

// BenchLifecycle reports the latencies a user of the driver pays for one
// sandbox, as custom metrics of b: create-ms, start-ms (until the agent is
// ready), exec-ms (one exec of /bin/true), stop-ms (a clean stop) and
// close-ms. The sandboxes' ids are driver.IDPrefix, stem, "-" and a number.
func BenchLifecycle(b *testing.B, d driver.Driver, img *image.Image, stem string) {
	ctx := context.Background()
	var create, start, exec, stop, closing time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		inst, err := d.Create(ctx, driver.Spec{ID: fmt.Sprintf("%s%s-%d", driver.IDPrefix, stem, i), Image: img})
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

// BenchLatency runs two sub-benchmarks of a probed driver: "start" times
// Start alone (Create and Close are not timed), "exec" times Exec of
// /bin/true in one running sandbox. newID returns a fresh sandbox id.
func BenchLatency(b *testing.B, d driver.Driver, img *image.Image, newID func() string) {
	ctx := context.Background()
	b.Run("start", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			inst, err := d.Create(ctx, driver.Spec{ID: newID(), Image: img})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			err = inst.Start(ctx)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := inst.Close(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("exec", func(b *testing.B) {
		inst, err := d.Create(ctx, driver.Spec{ID: newID(), Image: img})
		if err != nil {
			b.Fatal(err)
		}
		defer inst.Close()
		if err := inst.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := inst.Exec(ctx, []string{"/bin/true"}, io.Discard, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
}
