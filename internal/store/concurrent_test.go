package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/isobench/isobench/internal/result"
)

// TestConcurrentReaders reads a run over and over, from the writer's Store
// and from other Stores on the same file (as other processes would), while
// trials are added. Readers must never fail, never see a trial count go
// down, and never see a trial without all its samples and raw outputs.
func TestConcurrentReaders(t *testing.T) {
	const (
		trials  = 100
		readers = 3
	)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "isobench.db")
	w, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := newRun()
	if err := w.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}

	written := make(chan struct{})
	var wg sync.WaitGroup
	read := func(name string, s *Store) {
		defer wg.Done()
		last, rounds := 0, 0
		for done := false; !done; rounds++ {
			select {
			case <-written:
				done = true // one last read after the writer finished
			default:
			}
			if err := readOnce(ctx, s, r.ID, &last); err != nil {
				t.Errorf("%s, round %d: %v", name, rounds, err)
				return
			}
		}
		if last != trials {
			t.Errorf("%s: last read saw %d trials, want %d", name, last, trials)
		}
		t.Logf("%s: %d reads", name, rounds)
	}
	wg.Add(1)
	go read("writer's store", w)
	for i := range readers {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wg.Add(1)
		go read(fmt.Sprintf("reader %d", i), s)
	}
	for seq := range trials {
		if err := w.AddTrial(ctx, r.ID, newTrial(seq)); err != nil {
			t.Fatal(err)
		}
	}
	close(written)
	wg.Wait()
}

// readOnce reads the run and its listing and checks them against the last
// trial count seen.
func readOnce(ctx context.Context, s *Store, id string, last *int) error {
	run, err := s.GetRun(ctx, id)
	if err != nil {
		return err
	}
	if len(run.Trials) < *last {
		return fmt.Errorf("%d trials after %d", len(run.Trials), *last)
	}
	*last = len(run.Trials)
	full := newTrial(0)
	for i, tr := range run.Trials {
		if tr.Seq != i || len(tr.Samples) != len(full.Samples) || len(tr.Raw) != len(full.Raw) {
			return fmt.Errorf("trial %d incomplete: seq %d, %d samples, %d raw outputs", i, tr.Seq, len(tr.Samples), len(tr.Raw))
		}
	}
	infos, err := s.ListRuns(ctx)
	if err != nil {
		return err
	}
	if len(infos) != 1 || infos[0].Trials < len(run.Trials) || infos[0].OK != infos[0].Trials {
		return fmt.Errorf("listing %+v after reading %d trials", infos, len(run.Trials))
	}
	return nil
}

// TestConcurrentWriters adds trials to different runs from several Stores on
// the same file at once: writers wait for one another instead of failing.
func TestConcurrentWriters(t *testing.T) {
	const (
		writers = 4
		trials  = 25
	)
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "isobench.db")
	var wg sync.WaitGroup
	ids := make([]string, writers)
	for i := range writers {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &result.Run{Started: t0()}
			if err := s.CreateRun(ctx, r); err != nil {
				t.Error(err)
				return
			}
			ids[i] = r.ID
			for seq := range trials {
				if err := s.AddTrial(ctx, r.ID, newTrial(seq)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	check, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	for _, id := range ids {
		d, err := check.DoneTrials(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Keys) != trials || d.NextSeq != trials {
			t.Errorf("run %s: %d done, next seq %d; want %d, %d", id, len(d.Keys), d.NextSeq, trials, trials)
		}
	}
}

// TestConcurrentOpen creates the same new database from several Stores at
// once, as several isobench processes started together would.
func TestConcurrentOpen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "new", "isobench.db")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			s, err := Open(ctx, path)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			if err := s.CreateRun(ctx, &result.Run{Started: t0()}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkPragmas(t, s, len(migrations()))
	if runs, err := s.ListRuns(ctx); err != nil || len(runs) != 8 {
		t.Errorf("ListRuns = %d runs, %v; want 8", len(runs), err)
	}
}
