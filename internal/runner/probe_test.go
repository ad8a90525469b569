package runner

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
)

// stub is a driver whose probe answers as told, and whose Close can fail.
type stub struct {
	name     string
	info     driver.Info
	err      error
	closeErr error
}

func (s *stub) Name() string                               { return s.name }
func (s *stub) Probe(context.Context) (driver.Info, error) { return s.info, s.err }
func (s *stub) Create(context.Context, driver.Spec) (driver.Instance, error) {
	return nil, errors.New("stub")
}
func (s *stub) Close() error { return s.closeErr }

// picky is a workload that cannot run where the runtime's feature "picky"
// is "no", and refuses a parameter "bad".
type picky struct{ instant }

func (picky) Name() string { return "picky" }
func (picky) Check(info driver.Info, params map[string]string) error {
	if params["bad"] != "" {
		return errors.New("bad is bad")
	}
	if info.Features["picky"] == "no" {
		return driver.NotSupported(info.Name, "picky needs picky")
	}
	return nil
}

func TestProbeAll(t *testing.T) {
	var reg driver.Registry
	add := func(s *stub) {
		reg.Register(s.name, s.name, func(driver.Env, string) (driver.Driver, error) { return s, nil })
	}
	add(&stub{name: "works", info: driver.Info{Version: "1"}})
	add(&stub{name: "named", info: driver.Info{Name: "own", Version: "2"}, closeErr: errors.New("daemon stuck")})
	add(&stub{name: "broken", err: driver.NotSupported("broken", "no binary")})
	names := []string{"broken", "works", "nosuch", "named"}
	ps := ProbeAll(context.Background(), &reg, driver.Env{}, names, time.Second)
	var got []string
	for _, p := range ps {
		got = append(got, p.Name)
	}
	if !reflect.DeepEqual(got, names) {
		t.Fatalf("probes %v, want in the order asked %v", got, names)
	}
	if ps[1].Err != nil || ps[1].Info.Name != "works" || ps[3].Info.Name != "own" {
		t.Errorf("info names %q and %q: want the runtime's name where the driver gives none", ps[1].Info.Name, ps[3].Info.Name)
	}
	if ps[2].Driver != nil || ps[2].Err == nil || !errors.Is(ps[0].Err, driver.ErrNotSupported) {
		t.Errorf("unknown runtime %+v, broken %v: want errors", ps[2], ps[0].Err)
	}
	if err := CloseDrivers(ps); err == nil || err.Error() != "closing named: daemon stuck" {
		t.Errorf("CloseDrivers: %v, want the one failure named", err)
	}

	u := UsableOf(ps, plan.Suite{Options: map[string]plan.RuntimeOptions{"works": {CPUs: 2}}})
	if !reflect.DeepEqual(u.Names, []string{"works", "named"}) || len(u.Runtimes) != 2 || len(u.Records) != 2 {
		t.Errorf("usable %v (%d runtimes, %d records), want works and named", u.Names, len(u.Runtimes), len(u.Records))
	}
	if u.Runtimes["works"].Options.CPUs != 2 || u.Records[1].Version != "2" {
		t.Errorf("works' options %+v, named's record %+v", u.Runtimes["works"].Options, u.Records[1])
	}
	if len(u.Skipped) != 2 || u.Skipped[0].Runtime != "broken" || !strings.Contains(u.Skipped[0].Reason, "no binary") {
		t.Errorf("skipped %+v, want broken and nosuch with their reasons", u.Skipped)
	}
}

func TestCheckCells(t *testing.T) {
	var reg workload.Registry
	reg.Register(picky{})
	runtimes := map[string]Runtime{
		"yes": {Info: driver.Info{Name: "yes"}},
		"no":  {Info: driver.Info{Name: "no", Features: map[string]string{"picky": "no"}}},
	}
	p := &plan.Plan{Cells: []result.Cell{{Runtime: "yes", Workload: "picky"}, {Runtime: "no", Workload: "picky"}}}
	skip, skipped, err := CheckCells(p, &reg, runtimes)
	if err != nil {
		t.Fatal(err)
	}
	if len(skip) != 1 || !strings.Contains(skip[1], "picky needs picky") {
		t.Errorf("skip %v, want cell 1 with the reason", skip)
	}
	if len(skipped) != 1 || skipped[0].Runtime != "no" || skipped[0].Workload != "picky" {
		t.Errorf("skipped %+v", skipped)
	}
	p.Cells[0].Params = map[string]string{"bad": "1"}
	if _, _, err := CheckCells(p, &reg, runtimes); err == nil || err.Error() != "workload picky: bad is bad" {
		t.Errorf("error %v, want the workload's refusal", err)
	}
}
