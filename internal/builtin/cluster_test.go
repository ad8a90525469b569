package builtin

import (
	"reflect"
	"testing"

	"github.com/isobench/isobench/internal/kube"
)

func TestClusterDrivers(t *testing.T) {
	classes, err := kube.ParseClassMap([]string{"runsc=gvisor", "plain="})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		runtimes  []string
		nodes     []string
		wantNames []string
		wantDocs  []string
	}{
		{"one node", []string{"runc", "runsc", "plain"}, []string{"n1"},
			[]string{"runc", "runsc", "plain"},
			[]string{"RuntimeClass runc on node n1", "RuntimeClass gvisor on node n1", "RuntimeClass (default) on node n1"}},
		{"two nodes", []string{"runsc"}, []string{"n1", "n2"},
			[]string{"runsc@n1", "runsc@n2"},
			[]string{"RuntimeClass gvisor on node n1", "RuntimeClass gvisor on node n2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg, names := ClusterDrivers(nil, c.runtimes, c.nodes, classes)
			if !reflect.DeepEqual(names, c.wantNames) || !reflect.DeepEqual(reg.Names(), c.wantNames) {
				t.Errorf("names %v, registry %v; want %v", names, reg.Names(), c.wantNames)
			}
			for i, n := range c.wantNames {
				if doc := reg.Doc(n); doc != c.wantDocs[i] {
					t.Errorf("%s: doc %q, want %q", n, doc, c.wantDocs[i])
				}
			}
		})
	}
}

func TestClusterBaseline(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"crun", "runc", "runsc"}, "runc"},
		{[]string{"crun@a", "runc@a", "runc@b"}, "runc@a"},
		{[]string{"runsc", "crun"}, "runsc"},
		{[]string{"runcx", "crun"}, "runcx"},
		{nil, ""},
	} {
		if got := ClusterBaseline(c.names); got != c.want {
			t.Errorf("%v: %q, want %q", c.names, got, c.want)
		}
	}
}
