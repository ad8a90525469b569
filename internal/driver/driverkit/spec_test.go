package driverkit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
)

func TestValidateSpec(t *testing.T) {
	root := t.TempDir()
	img := &image.Image{Rootfs: root}
	odd := filepath.Join(t.TempDir(), "a,b")
	if err := os.Mkdir(odd, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	plain := SpecRules{MaxIDLen: 20}
	overlay := SpecRules{MaxIDLen: 20, Overlay: true}
	noUnderscore := SpecRules{MaxIDLen: 20, CheckID: func(id string) error {
		if strings.Contains(id, "_") {
			return errors.New("no underscores here")
		}
		return nil
	}}
	tests := []struct {
		name    string
		spec    driver.Spec
		rules   SpecRules
		wantErr string
	}{
		{"ok", driver.Spec{ID: "isobench-a", Image: img}, plain, ""},
		{"no prefix", driver.Spec{ID: "a", Image: img}, plain, "does not start with"},
		{"prefix only", driver.Spec{ID: driver.IDPrefix, Image: img}, plain, "does not start with"},
		{"too long", driver.Spec{ID: "isobench-" + strings.Repeat("a", 12), Image: img}, plain, "longer than 20 bytes"},
		{"bad character", driver.Spec{ID: "isobench-a/b", Image: img}, plain, `character '/' not allowed`},
		{"driver's own id rule", driver.Spec{ID: "isobench-a_b", Image: img}, noUnderscore, "no underscores"},
		{"driver's rule replaces the default", driver.Spec{ID: "isobench-a/b", Image: img}, noUnderscore, ""},
		{"no image", driver.Spec{ID: "isobench-a"}, plain, "no image"},
		{"relative rootfs", driver.Spec{ID: "isobench-a", Image: &image.Image{Rootfs: "rel"}}, plain, "absolute path"},
		{"overlay-hostile path", driver.Spec{ID: "isobench-a", Image: &image.Image{Rootfs: odd}}, overlay, "overlayfs cannot take"},
		{"comma fine without overlay", driver.Spec{ID: "isobench-a", Image: &image.Image{Rootfs: odd}}, plain, ""},
		{"missing rootfs", driver.Spec{ID: "isobench-a", Image: &image.Image{Rootfs: filepath.Join(root, "none")}}, plain, "no such file"},
		{"rootfs a file", driver.Spec{ID: "isobench-a", Image: &image.Image{Rootfs: file}}, plain, "is not a directory"},
		{"bad scratch", driver.Spec{ID: "isobench-a", Image: img, Scratch: "disk"}, plain, `unknown scratch kind "disk"`},
		{"negative cpus", driver.Spec{ID: "isobench-a", Image: img, CPUs: -1}, plain, "negative CPU"},
		{"negative memory", driver.Spec{ID: "isobench-a", Image: img, MemoryBytes: -1}, plain, "negative memory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateSpec(tc.spec, tc.rules)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
