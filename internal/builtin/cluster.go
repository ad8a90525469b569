package builtin

import (
	"fmt"
	"strings"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/kube"
)

// ClusterDrivers returns the registry of a run's runtimes on a cluster,
// and their names: each runtime on each node, as the RuntimeClass classes
// maps it to (the class of the same name when it names none; an empty
// class is the nodes' default handler). With several nodes a runtime is
// named RUNTIME@NODE, else RUNTIME.
func ClusterDrivers(c *kube.Cluster, runtimes, nodes []string, classes kube.ClassMap) (*driver.Registry, []string) {
	var reg driver.Registry
	var names []string
	for _, rt := range runtimes {
		class, named := classes.Class(rt)
		if !named {
			class = ""
		}
		shown := class
		if shown == "" {
			shown = "(default)"
		}
		for _, node := range nodes {
			name := rt
			if len(nodes) > 1 {
				name = rt + "@" + node
			}
			reg.Register(name, fmt.Sprintf("RuntimeClass %s on node %s", shown, node), c.Driver(name, class, node).Factory())
			names = append(names, name)
		}
	}
	return &reg, names
}

// ClusterBaseline is the runtime a run on a cluster, which has no bare
// host, compares the others against unless told otherwise: runc (on the
// first node) where the run has it, else its first runtime.
func ClusterBaseline(names []string) string {
	for _, n := range names {
		if n == "runc" || strings.HasPrefix(n, "runc@") {
			return n
		}
	}
	if len(names) == 0 {
		return ""
	}
	return names[0]
}
