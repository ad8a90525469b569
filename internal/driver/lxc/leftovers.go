package lxc

import (
	"context"
	"fmt"

	"github.com/isobench/isobench/internal/driver"
)

var _ driver.LeftoverFinder = (*Driver)(nil)

// Leftovers implements driver.LeftoverFinder: the LXC sandboxes whose state
// record names an owner that no longer runs. It reads the records only;
// Collect removes what they name.
func (d *Driver) Leftovers(ctx context.Context) ([]driver.Leftover, error) {
	records, err := stateRecords(d.env.StateDir).ReadAll()
	var out []driver.Leftover
	for _, r := range records {
		if r.ownerAlive() {
			continue
		}
		what := "LXC container: state record, overlay mount, directory, maybe its definition in " + r.LXCPath + ", the container, its cgroups and processes"
		out = append(out, driver.Leftover{ID: r.ID, What: what, OwnerPID: r.OwnerPID, Created: r.Created})
	}
	if err != nil {
		return out, fmt.Errorf("%s: %w", Name, err)
	}
	return out, nil
}
