package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/isobench/isobench/internal/driver"
)

// maxLeftovers is how many leftovers LeftoversWarning lists.
const maxLeftovers = 10

// LeftoversWarning says what isobench processes that no longer run left on
// this host, as every driver of reg that can tell finds it (see
// driver.LeftoverFinder), in a warning `isobench run` prints before it adds
// to it; "" when nothing is left. It removes nothing.
func LeftoversWarning(ctx context.Context, reg *driver.Registry, denv driver.Env) string {
	var lines []string
	for _, name := range reg.Names() {
		d, err := reg.New(denv, name)
		if err != nil {
			continue
		}
		f, ok := d.(driver.LeftoverFinder)
		if !ok {
			continue
		}
		left, err := f.Leftovers(ctx)
		for _, l := range left {
			lines = append(lines, fmt.Sprintf("  %s: %s", name, l))
		}
		if err != nil {
			lines = append(lines, fmt.Sprintf("  %s: cannot read all state records: %v", name, err))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	more := ""
	if len(lines) > maxLeftovers {
		more = fmt.Sprintf("\n  and %d more", len(lines)-maxLeftovers)
		lines = lines[:maxLeftovers]
	}
	return fmt.Sprintf("warning: isobench processes that no longer run left sandboxes on this host (state directory %s):\n%s%s\nrun `isobench gc` to remove them; this run leaves them alone\n",
		denv.StateDir, strings.Join(lines, "\n"), more)
}
