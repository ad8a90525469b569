package oci

import (
	"os"
	"path/filepath"
)

// BuiltRunscDir is where `isobench setup --gvisor` installs the runsc (and
// containerd-shim-runsc-v1) it builds from gVisor's Go module at a pinned
// version. The runsc driver, given no binary of its own (WithBinary), runs
// the runsc there before any in PATH: distributions package a runsc from
// 2022 whose platforms are ptrace and kvm, while the built one also offers
// systrap, gVisor's default platform since 2023.
const BuiltRunscDir = "/usr/local/lib/isobench/gvisor"

// builtRunsc returns the path of the runsc isobench built, when it is an
// executable file.
func builtRunsc() (string, bool) {
	p := filepath.Join(BuiltRunscDir, "runsc")
	fi, err := os.Stat(p)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", false
	}
	return p, true
}

// Binary returns the binary the driver of the named runtime runs when given
// none of its own: for runsc, the one `isobench setup --gvisor` built where
// it exists; otherwise the name, looked up in PATH.
func Binary(name string) string {
	if name == "runsc" {
		if p, ok := builtRunsc(); ok {
			return p
		}
	}
	return name
}
