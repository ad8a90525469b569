package driverkit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/isobench/isobench/internal/driver"
)

// SpecRules are what a driver adds to the checks ValidateSpec makes.
type SpecRules struct {
	// MaxIDLen is the longest id the driver takes, in bytes.
	MaxIDLen int
	// CheckID, when set, checks the id's characters in place of the
	// default rule (letters, digits, '-', '_', '.').
	CheckID func(id string) error
	// Overlay says the image's root filesystem becomes an overlayfs lower
	// directory, whose path cannot hold ',', ':', '\\' or a newline.
	Overlay bool
}

// ValidateSpec checks a spec before anything is made for it: an id that
// starts with driver.IDPrefix, is not longer than the rules allow and holds
// only allowed characters; an image whose root filesystem is an absolute
// path of a directory; a known scratch kind; no negative resources. The
// first problem found is the error.
func ValidateSpec(s driver.Spec, r SpecRules) error {
	if !strings.HasPrefix(s.ID, driver.IDPrefix) || len(s.ID) == len(driver.IDPrefix) {
		return fmt.Errorf("sandbox id %q does not start with %q", s.ID, driver.IDPrefix)
	}
	if len(s.ID) > r.MaxIDLen {
		return fmt.Errorf("sandbox id %q is longer than %d bytes", s.ID, r.MaxIDLen)
	}
	check := r.CheckID
	if check == nil {
		check = checkIDChars
	}
	if err := check(s.ID); err != nil {
		return err
	}
	if s.Image == nil {
		return errors.New("no image")
	}
	if s.Image.Rootfs == "" || !filepath.IsAbs(s.Image.Rootfs) {
		return fmt.Errorf("image root filesystem must be an absolute path, got %q", s.Image.Rootfs)
	}
	if r.Overlay && strings.ContainsAny(s.Image.Rootfs, ",:\\\n") {
		return fmt.Errorf("image root filesystem %q: overlayfs cannot take a lower directory whose path holds ',', ':' or '\\'", s.Image.Rootfs)
	}
	fi, err := os.Stat(s.Image.Rootfs)
	if err != nil {
		return fmt.Errorf("image root filesystem: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("image root filesystem %s is not a directory", s.Image.Rootfs)
	}
	switch s.Scratch {
	case "", driver.ScratchRootfs, driver.ScratchVolume, driver.ScratchTmpfs:
	default:
		return fmt.Errorf("unknown scratch kind %q (want %s, %s or %s)", s.Scratch, driver.ScratchRootfs, driver.ScratchVolume, driver.ScratchTmpfs)
	}
	if s.CPUs < 0 {
		return fmt.Errorf("negative CPU count %d", s.CPUs)
	}
	if s.MemoryBytes < 0 {
		return fmt.Errorf("negative memory size %d", s.MemoryBytes)
	}
	return nil
}

// checkIDChars allows letters, digits, '-', '_' and '.' in an id: a plain
// name for a directory, a state record and a host name.
func checkIDChars(id string) error {
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("sandbox id %q: character %q not allowed (letters, digits, '-', '_', '.')", id, c)
		}
	}
	return nil
}
