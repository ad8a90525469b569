package driverkit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestInstanceDirAndOverlay makes an instance directory with a real
// overlay mounted in it, then takes it down the two ways the drivers do:
// by the undo stack (Close), and from a state record (Collect).
func TestInstanceDirAndOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting an overlay needs root")
	}
	lower := t.TempDir()
	if err := os.WriteFile(filepath.Join(lower, "image-file"), []byte("from the image"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"undo", "record"} {
		t.Run(how, func(t *testing.T) {
			runDir := filepath.Join(t.TempDir(), "run")
			dir := filepath.Join(runDir, "isobench-dk-"+how)
			point := filepath.Join(dir, "rootfs")
			var u Undo
			t.Cleanup(func() { _ = u.Run() })
			if err := MakeInstanceDir(&u, runDir, dir); err != nil {
				t.Fatal(err)
			}
			if err := MakeInstanceDir(&u, runDir, dir); err == nil {
				t.Error("a second instance directory of the same name was made")
			}
			ov := NewOverlay(lower, dir, point)
			if err := ov.MakeDirs(); err != nil {
				t.Fatal(err)
			}
			if err := ov.Mount(&u, "isobench-dk-"+how); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(point, "image-file"))
			if err != nil || string(b) != "from the image" {
				t.Fatalf("image file through the overlay: %q, %v", b, err)
			}
			if err := os.WriteFile(filepath.Join(point, "written"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(ov.Upper, "written")); err != nil {
				t.Errorf("a write did not land in the upper layer: %v", err)
			}
			if _, err := os.Stat(filepath.Join(lower, "written")); err == nil {
				t.Error("a write reached the image")
			}
			table, err := ReadMountInfo()
			if err != nil {
				t.Fatal(err)
			}
			if got := MountsAt(table, dir); !slices.Equal(got, []string{point}) {
				t.Errorf("mounts in the instance directory: %q", got)
			}
			if err := RemoveDirUnmounted(dir); err == nil || !strings.Contains(err.Error(), "still mounted") {
				t.Errorf("removing a directory with a mount in it: %v", err)
			}
			switch how {
			case "undo":
				if err := u.Run(); err != nil {
					t.Fatal(err)
				}
			case "record":
				lines, errs := RemoveRecorded([]string{point, "/proc"}, dir)
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), `"/proc" outside`) {
					t.Errorf("errors %v, want one refusing /proc", errs)
				}
				if !slices.Equal(lines, []string{"unmounted " + point, "removed directory " + dir}) {
					t.Errorf("lines %q", lines)
				}
				if lines, errs := RemoveRecorded([]string{point}, dir); len(lines) != 0 || len(errs) != 0 {
					t.Errorf("second removal: %q, %v; want nothing to do", lines, errs)
				}
			}
			if _, err := os.Lstat(dir); !os.IsNotExist(err) {
				t.Errorf("instance directory still there: %v", err)
			}
			if table, _ := ReadMountInfo(); IsMountPoint(table, point) {
				t.Error("overlay still mounted")
			}
			if _, err := os.Stat(filepath.Join(lower, "image-file")); err != nil {
				t.Errorf("the image lost its file: %v", err)
			}
		})
	}
	// Unmounting what is not a mount point is not an error.
	if err := Unmount(t.TempDir()); err != nil {
		t.Errorf("Unmount of a plain directory: %v", err)
	}
}
