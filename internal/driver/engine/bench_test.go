package engine

import (
	"context"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/drivertest"
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
			if _, err := d.Probe(context.Background()); err != nil {
				b.Fatal(err)
			}
			n := 0
			drivertest.BenchLatency(b, d, testutil.MinimalImage(b), func() string {
				n++
				return driver.IDPrefix + "bench-" + d.token + "-" + itoa(n)
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
