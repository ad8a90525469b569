package oci

import (
	"context"
	"fmt"

	"github.com/isobench/isobench/internal/driver"
)

var _ driver.LeftoverFinder = (*Driver)(nil)

// Leftovers implements driver.LeftoverFinder: the sandboxes of this
// runtime whose state record names an owner that no longer runs. It reads
// the records only; Collect removes what they name.
func (d *Driver) Leftovers(ctx context.Context) ([]driver.Leftover, error) {
	records, err := stateRecords(d.env.StateDir).ReadAll()
	var out []driver.Leftover
	for _, r := range records {
		if r.Runtime != d.fl.name || r.ownerAlive() {
			continue
		}
		what := fmt.Sprintf("%s sandbox: state record", r.Runtime)
		if len(r.Mounts) > 0 {
			what += ", mounts"
		}
		what += ", directory, maybe the container, its cgroups and processes"
		out = append(out, driver.Leftover{ID: r.ID, What: what, OwnerPID: r.OwnerPID, Created: r.Created})
	}
	if err != nil {
		return out, fmt.Errorf("%s: %w", d.Name(), err)
	}
	return out, nil
}
