package store

import (
	"path/filepath"
	"testing"

	"github.com/isobench/isobench/internal/result"
)

// BenchmarkAddTrial measures storing one typical trial (three samples, two
// attributes, two raw outputs), each in its own fsynced transaction, on the
// file system that holds the test's temporary directory.
func BenchmarkAddTrial(b *testing.B) {
	ctx := b.Context()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "isobench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := &result.Run{Started: t0()}
	if err := s.CreateRun(ctx, r); err != nil {
		b.Fatal(err)
	}
	seq := 0
	for b.Loop() {
		if err := s.AddTrial(ctx, r.ID, newTrial(seq)); err != nil {
			b.Fatal(err)
		}
		seq++
	}
}

// BenchmarkGetRun measures reading back a run of 500 trials.
func BenchmarkGetRun(b *testing.B) {
	ctx := b.Context()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "isobench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := newRun()
	for seq := range 500 {
		r.Trials = append(r.Trials, newTrial(seq))
	}
	if err := s.CreateRun(ctx, r); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.GetRun(ctx, r.ID); err != nil {
			b.Fatal(err)
		}
	}
}
