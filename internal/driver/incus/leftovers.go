package incus

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/isobench/isobench/internal/driver"
)

var _ driver.LeftoverFinder = (*Driver)(nil)

// Leftovers implements driver.LeftoverFinder: the private Incus daemons
// whose state record names an owner that no longer runs (with whatever
// instances they hold). It reads the records only; Collect removes them.
// Leftovers in a system daemon are found by Collect, which asks it.
func (d *Driver) Leftovers(ctx context.Context) ([]driver.Leftover, error) {
	records, err := readDaemonRecords(d.env.StateDir)
	var out []driver.Leftover
	for _, r := range records {
		if r.ownerAlive() {
			continue
		}
		out = append(out, driver.Leftover{
			ID:       filepath.Base(r.Dir),
			What:     "private Incus daemon: state record, its directory " + r.Dir + ", maybe the daemon and its instances",
			OwnerPID: r.OwnerPID, Created: r.Created,
		})
	}
	links, lerr := linkLeftovers(d.env.StateDir)
	out = append(out, links...)
	if err = errors.Join(err, lerr); err != nil {
		return out, fmt.Errorf("%s: %w", d.Name(), err)
	}
	return out, nil
}
