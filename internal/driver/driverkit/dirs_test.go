package driverkit

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestPrepareDirs: a fresh base gets its directories with the modes an
// unprivileged container needs, even under a umask of 077; an existing run
// directory of mode 0700 is repaired; one already searchable is left as it
// is; without root nothing is made.
func TestPrepareDirs(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	t.Run("fresh", func(t *testing.T) {
		base := filepath.Join(t.TempDir(), "a", "isobench")
		run, state := filepath.Join(base, "run"), filepath.Join(base, "state")
		if err := PrepareDirs(base, run, state, true); err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]os.FileMode{base: 0o711, run: 0o711, state: 0o700} {
			if got := mode(t, p); got != want {
				t.Errorf("%s: mode %04o, want %04o", p, got, want)
			}
		}
		// Drivers making their directories afterwards change nothing.
		if err := MakeRunDir(run); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(run, "engine", "docker"), 0o700); err != nil {
			t.Fatal(err)
		}
		if got := mode(t, run); got != 0o711 {
			t.Errorf("run directory: mode %04o after the drivers, want 0711", got)
		}
	})
	t.Run("repair", func(t *testing.T) {
		base := t.TempDir()
		run, state := filepath.Join(base, "run"), filepath.Join(base, "state")
		if err := os.Chmod(base, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(run, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := PrepareDirs(base, run, state, true); err != nil {
			t.Fatal(err)
		}
		if got := mode(t, run); got != 0o711 {
			t.Errorf("run directory: mode %04o, want 0711 (repaired)", got)
		}
		if got := mode(t, base); got != 0o711 {
			t.Errorf("base directory: mode %04o, want 0711 (repaired)", got)
		}
	})
	t.Run("searchable kept", func(t *testing.T) {
		base := t.TempDir()
		if err := os.Chmod(base, 0o755); err != nil {
			t.Fatal(err)
		}
		run := filepath.Join(base, "run")
		if err := os.Mkdir(run, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(run, 0o751); err != nil {
			t.Fatal(err)
		}
		if err := PrepareDirs(base, run, filepath.Join(base, "state"), true); err != nil {
			t.Fatal(err)
		}
		if got := mode(t, base); got != 0o755 {
			t.Errorf("base: mode %04o, want 0755 kept", got)
		}
		if got := mode(t, run); got != 0o751 {
			t.Errorf("run: mode %04o, want 0751 kept", got)
		}
	})
	t.Run("not root", func(t *testing.T) {
		base := filepath.Join(t.TempDir(), "isobench")
		if err := PrepareDirs(base, filepath.Join(base, "run"), filepath.Join(base, "state"), false); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(base); !os.IsNotExist(err) {
			t.Errorf("without root, %s was made (%v)", base, err)
		}
	})
	t.Run("not a directory", func(t *testing.T) {
		base := t.TempDir()
		run := filepath.Join(base, "run")
		if err := os.WriteFile(run, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := PrepareDirs(base, run, filepath.Join(base, "state"), true); err == nil {
			t.Error("a file at the run directory's path was taken")
		}
	})
}
