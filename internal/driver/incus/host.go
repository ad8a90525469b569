package incus

import "github.com/isobench/isobench/internal/driver/driverkit"

// procsMentioning returns the processes (other than this one) whose command
// line contains id, also inside a longer word (an LXC monitor names the
// container), or whose working directory is dir or below it.
func procsMentioning(id, dir string) []driverkit.Proc {
	return driverkit.ProcsMentioning(id, dir, driverkit.ContainsID)
}
