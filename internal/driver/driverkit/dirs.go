package driverkit

import (
	"fmt"
	"os"
	"path/filepath"
)

// DirMode is the mode of isobench's base and run directories: searchable
// by every user, listable and writable by their owner alone. An
// unprivileged system container (Incus's) reaches its root filesystem
// below the run directory as an unprivileged user, through each of them.
const DirMode = 0o711

// StateDirMode is the mode of the state directory: its records are the
// owner's alone, and no sandbox goes through it.
const StateDirMode = 0o700

// PrepareDirs makes isobench's directories, once, before any driver runs
// (so that the first driver to run does not decide their modes): base and
// runDir with DirMode, stateDir with StateDirMode. As root (where
// unprivileged containers must get through), a base or run directory that
// exists without search permission for others, as an older isobench left
// it, is given it (0700 becomes 0711); nothing else of an existing mode
// changes. runDir and stateDir are expected below base; one elsewhere is
// made the same way. Without root nothing is made here: the drivers make
// what they use.
func PrepareDirs(base, runDir, stateDir string, root bool) error {
	if !root {
		return nil
	}
	for _, d := range []string{base, runDir} {
		if err := searchableDir(d); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(stateDir, StateDirMode); err != nil {
		return fmt.Errorf("making isobench's state directory: %w", err)
	}
	return nil
}

// searchableDir makes dir (and what is missing above it) with DirMode, or
// adds search permission for group and others to the existing dir.
func searchableDir(dir string) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("making isobench's directory: %w", err)
	}
	// MkdirAll's mode passes through the umask: a umask of 077 would make
	// it 0700, so the mode is checked in any case.
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("isobench's directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("isobench's directory %s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o011 != 0o011 {
		if err := os.Chmod(dir, perm|0o011); err != nil {
			return fmt.Errorf("making isobench's directory %s searchable by other users: %w", filepath.Clean(dir), err)
		}
	}
	return nil
}

// MakeRunDir makes the run directory when missing (the program makes it
// first, with PrepareDirs; a driver used on its own, as in its tests, makes
// it here), always with DirMode. An existing one is left as it is.
func MakeRunDir(runDir string) error {
	if err := os.MkdirAll(runDir, DirMode); err != nil {
		return fmt.Errorf("making the run directory: %w", err)
	}
	return nil
}
