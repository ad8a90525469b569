package guest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// FetchOptions says which distribution kernel to fetch.
type FetchOptions struct {
	// CacheDir is isobench's cache directory (absolute).
	CacheDir string
	// Package is the kernel package, e.g. "linux-image-6.1.0-56-amd64";
	// "" takes the one the distribution's kernel metapackage
	// (linux-image-amd64) depends on.
	Package string
	// Busybox is a static busybox for the initramfs; "" means
	// image.DefaultBusybox.
	Busybox string
	// Log receives a line per step; nil discards them.
	Log io.Writer
}

// debArch is the Debian name of this machine's architecture.
func debArch() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "amd64"
}

// FetchKernel downloads the distribution's kernel package with its package
// manager (apt-get download, which needs no root and installs nothing),
// unpacks it in a temporary directory (dpkg-deb -x) and imports its kernel,
// configuration and guest modules with ImportKernel. The temporary files
// are removed; only what guests need stays in the cache.
func FetchKernel(ctx context.Context, o FetchOptions) (*Kernel, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("fetch kernel: %s not found: fetching needs Debian's package tools; elsewhere give a kernel with isobench image kernel --kernel PATH --modules DIR", tool)
		}
	}
	pkg := o.Package
	if pkg == "" {
		meta := "linux-image-" + debArch()
		out, err := runTool(ctx, "", "apt-cache", "depends", meta)
		if err != nil {
			return nil, fmt.Errorf("fetch kernel: %w", err)
		}
		pkg = kernelPackageOf(out)
		if pkg == "" {
			return nil, fmt.Errorf("fetch kernel: the package lists know no %s (run apt-get update first)", meta)
		}
	}
	if !debName(pkg) {
		return nil, fmt.Errorf("fetch kernel: %q is not a package name", pkg)
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("fetch kernel: %w", err)
	}
	tmp, err := os.MkdirTemp(o.CacheDir, ".fetch-kernel-")
	if err != nil {
		return nil, fmt.Errorf("fetch kernel: %w", err)
	}
	defer os.RemoveAll(tmp)
	// apt drops privileges to its _apt user for downloads: let it write.
	if err := os.Chmod(tmp, 0o777); err != nil {
		return nil, fmt.Errorf("fetch kernel: %w", err)
	}
	logf(o.Log, "kernel: downloading %s", pkg)
	if _, err := runTool(ctx, tmp, "apt-get", "download", "-q", pkg); err != nil {
		return nil, fmt.Errorf("fetch kernel: %w", err)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("fetch kernel: apt-get download %s left %d package files, want 1", pkg, len(debs))
	}
	version, err := runTool(ctx, "", "dpkg-deb", "-f", debs[0], "Version")
	if err != nil {
		return nil, fmt.Errorf("fetch kernel: %w", err)
	}
	root := filepath.Join(tmp, "root")
	logf(o.Log, "kernel: unpacking %s", filepath.Base(debs[0]))
	if _, err := runTool(ctx, "", "dpkg-deb", "-x", debs[0], root); err != nil {
		return nil, fmt.Errorf("fetch kernel: %w", err)
	}
	kernels, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinu[xz]-*"))
	if len(kernels) != 1 {
		return nil, fmt.Errorf("fetch kernel: package %s holds %d kernels under /boot, want 1", pkg, len(kernels))
	}
	release := strings.TrimPrefix(strings.TrimPrefix(filepath.Base(kernels[0]), "vmlinuz-"), "vmlinux-")
	modules := ""
	for _, d := range []string{filepath.Join(root, "lib", "modules", release), filepath.Join(root, "usr", "lib", "modules", release)} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			modules = d
		}
	}
	return ImportKernel(ctx, KernelOptions{
		CacheDir: o.CacheDir,
		Kernel:   kernels[0],
		Modules:  modules,
		Config:   findConfig(kernels[0], modules, release),
		Busybox:  o.Busybox,
		Source:   "package " + pkg + " " + strings.TrimSpace(version),
		Log:      o.Log,
	})
}

// kernelPackageOf reads `apt-cache depends` output for the first
// dependency that is a kernel image package.
func kernelPackageOf(out string) string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && strings.TrimPrefix(f[0], "|") == "Depends:" && strings.HasPrefix(f[1], "linux-image-") && debName(f[1]) {
			return f[1]
		}
	}
	return ""
}

func debName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '+') {
			return false
		}
	}
	return true
}

func runTool(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, clipText(msg, 600))
	}
	return out.String(), nil
}
