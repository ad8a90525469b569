package workload

import (
	"context"
	"testing"

	"github.com/isobench/isobench/internal/driver"
)

// helpWorkload is a workload that only describes itself.
type helpWorkload struct {
	name   string
	params []Param
}

func (w helpWorkload) Name() string                                 { return w.name }
func (w helpWorkload) Doc() string                                  { return w.name + " doc" }
func (w helpWorkload) Params() []Param                              { return w.params }
func (w helpWorkload) Metrics() []Metric                            { return nil }
func (w helpWorkload) Check(driver.Info, map[string]string) error   { return nil }
func (w helpWorkload) Run(context.Context, *Target, Recorder) error { return nil }

func TestRegistryHelp(t *testing.T) {
	for _, tc := range []struct {
		name string
		ws   []Workload
		want string
	}{
		{"empty", nil, ""},
		{"no params", []Workload{helpWorkload{name: "cpu"}}, "  cpu      cpu doc"},
		{"params in order, profiles sorted", []Workload{
			helpWorkload{name: "a", params: []Param{
				{Name: "x", Default: "1", Doc: "the x", Profiles: map[string]string{"study": "9", "quick": "2"}},
				{Name: "y", Default: "", Doc: "the y"},
			}},
			helpWorkload{name: "b"},
		}, "  a        a doc\n      --set a.x=1  the x (quick: 2, study: 9)\n      --set a.y=  the y\n  b        b doc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Registry
			for _, w := range tc.ws {
				r.Register(w)
			}
			if got := r.Help(); got != tc.want {
				t.Errorf("Help() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
