package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/guest/guesttest"
)

// TestImageKernel imports the test guest kernel (the distribution's) with
// its modules into a fresh cache through the CLI, and checks what it says
// of each VMM.
func TestImageKernel(t *testing.T) {
	k := guesttest.Kernel(t)
	cache := t.TempDir()
	code, out, errOut := isobench(t, "--cache-dir", cache, "image", "kernel",
		"--kernel", k.BootImage(), "--modules", filepath.Join(k.Dir, "modules"), "--config", filepath.Join(k.Dir, "config"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"release  " + k.Release, "config   recorded", "qemu-microvm      fits", "qemu-vm           fits"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// For a current Firecracker (1.8 or later, ACPI describes its
	// virtio-mmio devices) a kernel with ACPI, PCI and virtio_mmio fits;
	// without them the output says what is missing.
	cfg := k.Config()
	acpi := cfg.State("CONFIG_ACPI") == "y" && cfg.State("CONFIG_PCI") == "y"
	switch {
	case acpi && !strings.Contains(out, "firecracker       fits"):
		t.Errorf("a kernel with ACPI and PCI does not fit Firecracker:\n%s", out)
	case !acpi && !strings.Contains(out, "firecracker       does not fit: "):
		t.Errorf("output does not say why the kernel does not fit Firecracker:\n%s", out)
	}
}

func TestImageKernelUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--modules", "/lib/modules/x"}, "--modules and --config go with --kernel"},
		{[]string{"--kernel", "/boot/vmlinuz", "--package", "linux-image-amd64"}, "exclude each other"},
	}
	for _, tc := range tests {
		code, _, errOut := isobench(t, append([]string{"--cache-dir", t.TempDir(), "image", "kernel"}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("image kernel %q: exit %d, %q; want exit %d saying %q", tc.args, code, errOut, ExitUsage, tc.want)
		}
	}
	code, _, errOut := isobench(t, "--cache-dir", t.TempDir(), "image", "kernel", "--kernel", "/nonexistent-isobench/vmlinuz")
	if code == 0 || !strings.Contains(errOut, "/nonexistent-isobench/vmlinuz") {
		t.Errorf("a missing kernel: exit %d, %q", code, errOut)
	}
}
