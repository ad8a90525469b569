package guest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/isobench/isobench/internal/guest"
	"github.com/isobench/isobench/internal/guest/guesttest"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/testutil"
)

const debRelease = "6.1.0-56-amd64"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "kernel", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseModinfo(t *testing.T) {
	tests := []struct {
		file    string
		name    string
		depends []string
		softpre []string
		alias   string
	}{
		{"ext4.modinfo", "ext4", []string{"jbd2", "mbcache", "crc16"}, []string{"crypto-crc32c"}, "fs-ext4"},
		{"crc32c_generic.modinfo", "crc32c_generic", nil, nil, "crc32c"},
		{"virtio_pci.modinfo", "virtio_pci", []string{"virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio"}, nil, ""},
		{"virtio_mmio.modinfo", "virtio_mmio", []string{"virtio", "virtio_ring"}, nil, ""},
		{"virtio_blk.modinfo", "virtio_blk", []string{"virtio", "virtio_ring"}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m, err := guest.ParseModinfo(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != tc.name {
				t.Errorf("name %q, want %q", m.Name, tc.name)
			}
			if strings.Join(m.Depends, ",") != strings.Join(tc.depends, ",") {
				t.Errorf("depends %q, want %q", m.Depends, tc.depends)
			}
			if strings.Join(m.SoftPre, ",") != strings.Join(tc.softpre, ",") {
				t.Errorf("softdep pre %q, want %q", m.SoftPre, tc.softpre)
			}
			if tc.alias != "" && !contains(m.Aliases, tc.alias) {
				t.Errorf("aliases %q lack %q", m.Aliases, tc.alias)
			}
			for _, a := range m.Aliases {
				if strings.ContainsAny(a, "*?[:") {
					t.Errorf("device-table alias %q kept", a)
				}
			}
			if m.Release() != debRelease {
				t.Errorf("release %q, want %q", m.Release(), debRelease)
			}
		})
	}
}

func TestParseModinfoBad(t *testing.T) {
	for _, b := range []string{"name=a/b\x00", "noequals\x00", "depends=a,../x\x00"} {
		if _, err := guest.ParseModinfo([]byte(b)); err == nil {
			t.Errorf("ParseModinfo(%q) accepted it", b)
		}
	}
}

func FuzzParseModinfo(f *testing.F) {
	for _, n := range []string{"ext4.modinfo", "crc32c_generic.modinfo", "virtio_pci.modinfo"} {
		f.Add(readTestdata(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := guest.ParseModinfo(b)
		if err != nil {
			return
		}
		for _, d := range m.Depends {
			if d == "" || strings.ContainsAny(d, "/-,") {
				t.Fatalf("bad dependency %q accepted", d)
			}
		}
	})
}

func TestModuleSetLoadOrder(t *testing.T) {
	set := &guest.ModuleSet{Modules: map[string]guest.ModuleInfo{}, Builtin: map[string]bool{"crc16": true}}
	for _, n := range []string{"ext4.modinfo", "crc32c_generic.modinfo", "virtio_pci.modinfo", "virtio_mmio.modinfo", "virtio_blk.modinfo"} {
		m, err := guest.ParseModinfo(readTestdata(t, n))
		if err != nil {
			t.Fatal(err)
		}
		set.Modules[m.Name] = m
	}
	for _, n := range []string{"virtio", "virtio_ring", "jbd2", "mbcache", "virtio_pci_modern_dev", "virtio_pci_legacy_dev"} {
		set.Modules[n] = guest.ModuleInfo{Name: n}
	}
	// virtio needs virtio_ring in the real kernel; the captured modules
	// above do not include them, so add the edge by hand.
	v := set.Modules["virtio"]
	v.Depends = []string{"virtio_ring"}
	set.Modules["virtio"] = v

	order, err := set.LoadOrder("virtio_mmio", "virtio_blk", "ext4")
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, n := range order {
		if _, dup := pos[n]; dup {
			t.Fatalf("%s twice in %q", n, order)
		}
		pos[n] = i
	}
	for _, edge := range [][2]string{{"virtio_ring", "virtio"}, {"virtio", "virtio_mmio"}, {"virtio", "virtio_blk"}, {"jbd2", "ext4"}, {"crc32c_generic", "ext4"}} {
		a, okA := pos[edge[0]]
		b, okB := pos[edge[1]]
		if !okA || !okB || a > b {
			t.Errorf("%s must load before %s: order %q", edge[0], edge[1], order)
		}
	}
	if _, ok := pos["crc16"]; ok {
		t.Errorf("built-in crc16 in the load order %q", order)
	}
	if _, err := set.LoadOrder("floppy"); !errors.Is(err, guest.ErrNoModule) {
		t.Errorf("LoadOrder(floppy) = %v, want ErrNoModule", err)
	}
	cyc := &guest.ModuleSet{Modules: map[string]guest.ModuleInfo{"a": {Name: "a", Depends: []string{"b"}}, "b": {Name: "b", Depends: []string{"a"}}}}
	if _, err := cyc.LoadOrder("a"); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
}

func TestParseKernelConfig(t *testing.T) {
	cfg, err := guest.ParseKernelConfig(bytes.NewReader(readTestdata(t, "config-"+debRelease)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ opt, want string }{
		{"CONFIG_VIRTIO_MMIO", "m"},
		{"CONFIG_VIRTIO_BLK", "m"},
		{"CONFIG_EXT4_FS", "m"},
		{"CONFIG_SERIAL_8250_CONSOLE", "y"},
		{"CONFIG_PVH", "y"},
		{"CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES", ""},
	}
	for _, tc := range tests {
		if got := cfg.State(tc.opt); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.opt, got, tc.want)
		}
	}
	if cfg["CONFIG_LOCALVERSION"] != `""` {
		t.Errorf("string option kept as %q", cfg["CONFIG_LOCALVERSION"])
	}
	_, err = guest.ParseKernelConfig(strings.NewReader("CONFIG_A=y\n\nnonsense here\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad line: error %v, want one naming line 3", err)
	}
}

func FuzzParseKernelConfig(f *testing.F) {
	f.Add(readTestdata(f, "config-"+debRelease)[:4096])
	f.Add([]byte("# CONFIG_X is not set\nCONFIG_Y=m\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := guest.ParseKernelConfig(bytes.NewReader(b))
		if err != nil {
			return
		}
		for k := range cfg {
			if !strings.HasPrefix(k, "CONFIG_") {
				t.Fatalf("option %q accepted", k)
			}
		}
	})
}

func TestParseBzImage(t *testing.T) {
	z, err := guest.ParseBzImage(readTestdata(t, "vmlinuz-"+debRelease+".head"))
	if err != nil {
		t.Fatal(err)
	}
	if z.Release() != debRelease {
		t.Errorf("release %q, want %q (version %q)", z.Release(), debRelease, z.Version)
	}
	if z.Compression != "xz" {
		t.Errorf("compression %q, want xz", z.Compression)
	}
	if z.Protocol < 0x20f {
		t.Errorf("protocol %#x", z.Protocol)
	}
	if _, err := guest.ParseBzImage(make([]byte, 4096)); err == nil {
		t.Error("a file of zeros parsed as a bzImage")
	}
}

func FuzzParseBzImage(f *testing.F) {
	f.Add(readTestdata(f, "vmlinuz-"+debRelease+".head")[:2048])
	f.Fuzz(func(t *testing.T, b []byte) {
		z, err := guest.ParseBzImage(b)
		if err == nil && (z.PayloadLength <= 0 || len(z.Version) > 256) {
			t.Fatalf("accepted %+v", z)
		}
	})
}

// TestKernelAndGuestFiles runs against the real distribution kernel: it is
// fetched, its guest modules kept, its initramfs written; the checks per
// VMM say what the maintainers' notes say of this kernel.
func TestKernelAndGuestFiles(t *testing.T) {
	k := guesttest.Kernel(t)
	if k.Release == "" || k.Format == "" {
		t.Fatalf("kernel record without release or format: %+v", k)
	}
	if !strings.HasPrefix(k.Source, "package linux-image-") {
		t.Errorf("source %q", k.Source)
	}
	for _, vmm := range []string{guest.VMMQemuMicrovm, guest.VMMQemuVM} {
		if err := guest.CheckKernel(k, vmm); err != nil {
			t.Errorf("CheckKernel(%s): %v", vmm, err)
		}
	}
	// Firecracker before 1.8 names its devices on the command line only;
	// from 1.8 ACPI tables describe them (see kfit_test.go).
	if k.Config().State("CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES") != "y" {
		err := guest.CheckKernelFor(k, guest.VMMFirecracker, "Firecracker v1.7.0")
		var fit *guest.KernelFitError
		if !errors.As(err, &fit) || !strings.Contains(err.Error(), "CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES") {
			t.Errorf("CheckKernelFor(firecracker 1.7) on a kernel without virtio-mmio command-line devices: %v", err)
		}
	}
	if k.Config().State("CONFIG_ACPI") == "y" && k.Config().State("CONFIG_PCI") == "y" && k.HasVmlinux {
		if err := guest.CheckKernelFor(k, guest.VMMFirecracker, "Firecracker v1.8.0"); err != nil {
			t.Errorf("CheckKernelFor(firecracker 1.8) on a kernel with ACPI: %v", err)
		}
	}
	if k.HasVmlinux != (k.Vmlinux() != "") {
		t.Error("Vmlinux() disagrees with HasVmlinux")
	}
	order, err := k.LoadOrder("virtio_mmio", "virtio_blk", "ext4")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load order: %v", order)
	// The initramfs holds /init, busybox and every kept module.
	f, err := os.Open(k.Initramfs())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{}
	r := cpio.NewReader(f)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
	for _, want := range []string{"init", "bin/busybox"} {
		if !names[want] {
			t.Errorf("initramfs lacks %s", want)
		}
	}
	for _, m := range order {
		if !names["lib/modules/"+m+".ko"] {
			t.Errorf("initramfs lacks module %s", m)
		}
	}
	// The same kernel without its modules fits nothing, and says why.
	bare, err := guest.ImportKernel(context.Background(), guest.KernelOptions{
		CacheDir: t.TempDir(), Kernel: k.BootImage(), Config: filepath.Join(k.Dir, "config"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := guest.CheckKernel(bare, guest.VMMQemuMicrovm); err == nil || !strings.Contains(err.Error(), "CONFIG_VIRTIO_BLK=m, but the module is not in the cache") {
		t.Errorf("CheckKernel of a kernel without its modules: %v", err)
	}
	// Reopening gives the same kernel.
	again, err := guest.OpenKernel(k.Dir)
	if err != nil || again.ID != k.ID {
		t.Errorf("OpenKernel: %v, id %v", err, again)
	}
}

func TestImportKernelBadInput(t *testing.T) {
	cache := t.TempDir()
	bogus := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(bogus, []byte("not a kernel"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    guest.KernelOptions
		want string
	}{
		{"relative cache", guest.KernelOptions{CacheDir: "cache", Kernel: bogus}, "absolute"},
		{"no kernel", guest.KernelOptions{CacheDir: cache}, "no kernel"},
		{"not a kernel", guest.KernelOptions{CacheDir: cache, Kernel: bogus}, "neither an ELF vmlinux nor a bzImage"},
		{"missing kernel", guest.KernelOptions{CacheDir: cache, Kernel: "/nonexistent-isobench/vmlinuz"}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := guest.ImportKernel(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := guest.DefaultKernel(cache); !errors.Is(err, guest.ErrNoKernel) {
		t.Errorf("DefaultKernel of an empty cache: %v, want ErrNoKernel", err)
	}
}

// TestGuestDisk makes the ext4 root disk of a small image and checks its
// files with e2fsprogs' debugfs, without mounting it.
func TestGuestDisk(t *testing.T) {
	testutil.RequireBinary(t, "mkfs.ext4")
	debugfs := testutil.RequireBinary(t, "debugfs")
	img := testutil.MinimalImage(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	disk, err := guest.GuestDisk(ctx, img, guest.DiskOptions{Headroom: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(debugfs, "-R", "stat "+image.AgentPath, disk).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Type: regular") {
		t.Fatalf("debugfs stat %s: %v\n%s", image.AgentPath, err, out)
	}
	fi, err := os.Stat(disk)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 64<<20 {
		t.Errorf("disk of %d bytes has less than the headroom asked for", fi.Size())
	}
	again, err := guest.GuestDisk(ctx, img, guest.DiskOptions{Headroom: 64 << 20})
	if err != nil || again != disk {
		t.Errorf("second GuestDisk: %q, %v; want the same disk %q", again, err, disk)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
