package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
)

// Probe is one runtime's probe: its driver (nil when it could not be
// made), what the driver says of itself, or why it cannot run here.
type Probe struct {
	Name   string
	Driver driver.Driver
	Info   driver.Info
	Err    error
}

// ProbeAll probes the named runtimes of reg at once, each bounded by
// timeout, and returns their probes in the order of names. The caller ends
// what the drivers hold with CloseDrivers once nothing uses them.
func ProbeAll(ctx context.Context, reg *driver.Registry, env driver.Env, names []string, timeout time.Duration) []Probe {
	out := make([]Probe, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = probeOne(ctx, reg, env, name, timeout)
		}()
	}
	wg.Wait()
	return out
}

func probeOne(ctx context.Context, reg *driver.Registry, env driver.Env, name string, timeout time.Duration) Probe {
	p := Probe{Name: name}
	d, err := reg.New(env, name)
	if err != nil {
		p.Err = err
		return p
	}
	p.Driver = d
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p.Info, p.Err = d.Probe(pctx)
	if p.Err == nil && p.Info.Name == "" {
		p.Info.Name = name
	}
	return p
}

// CloseDrivers ends what the probed drivers hold beyond their sandboxes (a
// private engine daemon they started), once nothing uses them. It returns
// what failed, one error per driver ("closing NAME: ...").
func CloseDrivers(ps []Probe) error {
	var errs []error
	for _, p := range ps {
		if p.Driver == nil {
			continue
		}
		if err := driver.CloseDriver(p.Driver); err != nil {
			errs = append(errs, fmt.Errorf("closing %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Usable is what a run has of its probed runtimes: those that work, ready
// for the runner, with their record, and those that do not, with the
// reason.
type Usable struct {
	// Names are the runtimes that work, in the order probed.
	Names    []string
	Runtimes map[string]Runtime
	// Records are the runtimes that work as the run records them.
	Records []result.Runtime
	// Skipped are the runtimes that do not work, with the reason.
	Skipped []result.Skip
}

// UsableOf sorts probes into the runtimes that work, each with the sandbox
// options the suite gives it, and those skipped with their reason.
func UsableOf(ps []Probe, s plan.Suite) Usable {
	u := Usable{Runtimes: map[string]Runtime{}}
	for _, p := range ps {
		if p.Err != nil {
			u.Skipped = append(u.Skipped, result.Skip{Runtime: p.Name, Reason: p.Err.Error()})
			continue
		}
		u.Runtimes[p.Name] = Runtime{Driver: p.Driver, Info: p.Info, Options: s.Options[p.Name]}
		u.Names = append(u.Names, p.Name)
		u.Records = append(u.Records, result.Runtime{
			Name: p.Name, Version: p.Info.Version, Isolation: p.Info.Isolation,
			Features: p.Info.Features, Warnings: p.Info.Warnings,
		})
	}
	return u
}

// CheckCells asks each cell's workload whether it can run on the cell's
// runtime, as probed. It returns the cells to leave out, by index, with
// the reason (the workload said driver.ErrNotSupported), and their skip
// records; any other answer is an error of the suite.
func CheckCells(p *plan.Plan, reg *workload.Registry, runtimes map[string]Runtime) (map[int]string, []result.Skip, error) {
	skip := map[int]string{}
	var skipped []result.Skip
	for i, c := range p.Cells {
		w, err := reg.Get(c.Workload)
		if err != nil {
			return nil, nil, err
		}
		if err := w.Check(runtimes[c.Runtime].Info, c.Params); err != nil {
			if errors.Is(err, driver.ErrNotSupported) {
				skip[i] = err.Error()
				skipped = append(skipped, result.Skip{Runtime: c.Runtime, Workload: c.Workload, Reason: err.Error()})
				continue
			}
			return nil, nil, fmt.Errorf("workload %s: %w", c.Workload, err)
		}
	}
	return skip, skipped, nil
}
