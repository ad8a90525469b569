package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
)

// leftDriver is a driver that only reports leftovers.
type leftDriver struct {
	driver.Driver
	left []driver.Leftover
	err  error
}

func (d leftDriver) Leftovers(context.Context) ([]driver.Leftover, error) { return d.left, d.err }

// plainDriver finds no leftovers: it does not implement LeftoverFinder.
type plainDriver struct{ driver.Driver }

func TestLeftoversWarning(t *testing.T) {
	many := make([]driver.Leftover, 12)
	for i := range many {
		many[i] = driver.Leftover{ID: fmt.Sprintf("isobench-%d", i)}
	}
	for _, tc := range []struct {
		name    string
		drivers map[string]driver.Driver
		want    []string // "" alone: no warning
	}{
		{"none", map[string]driver.Driver{"a": plainDriver{}, "b": leftDriver{}}, []string{""}},
		{"some", map[string]driver.Driver{"runc": leftDriver{left: []driver.Leftover{{ID: "isobench-x", What: "runc container"}}},
			"crun": leftDriver{err: errors.New("unreadable")}},
			[]string{"state directory /state", "  runc: isobench-x (runc container)\n", "  crun: cannot read all state records: unreadable", "run `isobench gc`"}},
		{"many", map[string]driver.Driver{"runc": leftDriver{left: many}}, []string{"  runc: isobench-9\n  and 2 more\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reg driver.Registry
			for name, d := range tc.drivers {
				reg.Register(name, name, func(driver.Env, string) (driver.Driver, error) { return d, nil })
			}
			got := LeftoversWarning(context.Background(), &reg, driver.Env{StateDir: "/state"})
			if len(tc.want) == 1 && tc.want[0] == "" {
				if got != "" {
					t.Errorf("warning %q, want none", got)
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("warning lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
