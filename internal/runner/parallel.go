package runner

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
)

// RunParallel executes p with n trials in flight at once: n copies of r,
// each taking every nth step of the plan's order (so each keeps the
// interleaving), sharing r's Sink and Observer, which must then be safe
// for concurrent use. The observer is told the whole plan's size. The
// trials come back in the plan's order (by Seq). With n of 1 or less, or a
// plan of one step, it is Run: one trial at a time.
//
// Every shard runs to its end or to its own error; the first error to
// come back is returned (interrupted shards all say so; one is enough).
// The adaptive stop (More) decides from every trial so far, so it runs one
// trial at a time only.
func (r *Runner) RunParallel(ctx context.Context, p *plan.Plan, n int) ([]result.Trial, error) {
	if n <= 1 || len(p.Steps) <= 1 {
		return r.Run(ctx, p)
	}
	if r.More != nil {
		return nil, errors.New("the adaptive stop runs one trial at a time: it cannot run in parallel")
	}
	n = min(n, len(p.Steps))
	shards := make([][]plan.Step, n)
	for i, st := range p.Steps {
		shards[i%n] = append(shards[i%n], st)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		trials []result.Trial
		errs   []error
	)
	for _, shard := range shards {
		q := *p
		q.Steps = shard
		rr := *r
		if r.Observer != nil {
			rr.Observer = totalObserver{r.Observer, len(p.Steps)}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts, err := rr.Run(ctx, &q)
			mu.Lock()
			defer mu.Unlock()
			trials = append(trials, ts...)
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	sort.Slice(trials, func(i, j int) bool { return trials[i].Seq < trials[j].Seq })
	if len(errs) > 0 {
		return trials, errs[0]
	}
	return trials, nil
}

// totalObserver reports the whole plan's size to an observer of one shard.
type totalObserver struct {
	o     Observer
	total int
}

func (t totalObserver) TrialStarted(st plan.Step, c result.Cell, _ int) {
	t.o.TrialStarted(st, c, t.total)
}

func (t totalObserver) TrialEnded(tr result.Trial, _ int) { t.o.TrialEnded(tr, t.total) }
