package builtin

import "github.com/isobench/isobench/internal/driver/driverkit"

// PrepareDirs makes the drivers' base, run and state directories with the
// modes every built-in driver needs, before any of them runs (see
// driverkit.PrepareDirs).
func PrepareDirs(base, runDir, stateDir string, root bool) error {
	return driverkit.PrepareDirs(base, runDir, stateDir, root)
}
