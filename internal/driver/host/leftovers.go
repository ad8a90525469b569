package host

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/isobench/isobench/internal/driver"
)

var _ driver.LeftoverFinder = (*Driver)(nil)

// Leftovers implements driver.LeftoverFinder: the host instances whose
// state record names an owner that no longer runs. It reads the records
// only; Collect removes what they name.
func (d *Driver) Leftovers(ctx context.Context) ([]driver.Leftover, error) {
	entries, err := os.ReadDir(d.env.StateDir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("host: reading state directory: %w", err)
	}
	var out []driver.Leftover
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), driver.IDPrefix) || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d.env.StateDir, e.Name()))
		if err != nil {
			continue
		}
		var rec record
		if json.Unmarshal(b, &rec) != nil || rec.Driver != Name {
			continue
		}
		if rec.PID == os.Getpid() || processAlive(rec.PID) {
			continue
		}
		what := "host scratch directory"
		if rec.Mount != "" {
			what += " and tmpfs mount"
		}
		out = append(out, driver.Leftover{ID: rec.ID, What: what, OwnerPID: rec.PID, Created: rec.Created})
	}
	return out, nil
}
