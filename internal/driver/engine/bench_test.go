package engine

import (
	"context"
	"io"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/testutil"
)

// BenchmarkLatency measures, per engine and runtime, Start (after Create:
// the container's start until the agent is ready) and Exec of /bin/true
// through the engine's exec API. Compare with the direct runtimes'
// benchmark in package oci:
//
//	go test -run '^$' -bench Latency -benchtime 20x ./internal/driver/engine/ ./internal/driver/oci/
func BenchmarkLatency(b *testing.B) {
	for _, rt := range []struct{ engine, variant string }{
		{"docker", ""}, {"docker", "crun"}, {"docker", "runsc"}, {"podman", ""}, {"podman", "runc"}, {"podman", "runsc"},
	} {
		name := rt.engine
		if rt.variant != "" {
			name += ":" + rt.variant
		}
		b.Run(name, func(b *testing.B) {
			requireEngine(b, rt.engine)
			if rt.variant != "" {
				testutil.RequireBinary(b, rt.variant)
			}
			env := testEnv(b)
			d := newDriver(b, env, rt.engine, rt.variant)
			ctx := context.Background()
			if _, err := d.Probe(ctx); err != nil {
				b.Fatal(err)
			}
			img := testutil.MinimalImage(b)
			n := 0
			spec := func() driver.Spec {
				n++
				return driver.Spec{ID: driver.IDPrefix + "bench-" + d.token + "-" + itoa(n), Image: img}
			}
			b.Run("start", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					inst, err := d.Create(ctx, spec())
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
				inst, err := d.Create(ctx, spec())
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
		})
	}
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
