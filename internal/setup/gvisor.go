package setup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/isobench/isobench/internal/driver/oci"
)

// gVisor as `isobench setup --gvisor` builds it: runsc and its containerd
// shim, from gVisor's Go module (the "go" branch, which the module proxy
// serves as pseudo-versions) at a pinned version. Distributions package
// runsc from 2022, whose platforms are ptrace and kvm; a current one
// offers systrap, the platform gVisor uses by default since 2023, and a
// containerd shim for Kubernetes RuntimeClasses.
const (
	gvisorModule = "gvisor.dev/gvisor"
	// gvisorVersion is the pinned version, of 2025-10-11. Later versions'
	// shim speaks only the shim protocol of containerd 2, which the
	// distribution's containerd 1.6 does not.
	gvisorVersion = "v0.0.0-20251011013117-af7a19336e55"
)

// gvisorPatch is a change to one file of gVisor's source, made on a copy
// of the module in the build directory (the Go command refuses to overlay
// files of its module cache): the module stays as published, and nothing
// of gVisor is kept in isobench.
type gvisorPatch struct {
	file     string // relative to the module's root
	old, new string // old must occur exactly once
	why      string
}

// gvisorPatches are what the pinned version needs to build and run here.
func gvisorPatches() []gvisorPatch {
	return []gvisorPatch{{
		file: "pkg/sync/runtime_constants_go125.go",
		old:  "//go:build go1.25\n",
		new:  "//go:build go1.25 && !go1.26\n",
		why:  "Go 1.26 compiles both this file and runtime_constants_go126.go, which declare the same constants",
	}, {
		file: "pkg/shim/v1/service.go",
		old:  "\t\treturn \"\", fmt.Errorf(\"failed to set OOM Score on shim: %w\", err)\n",
		// Silently: what the shim's start writes is read as its address.
		new: "\t\t_ = err // isobench: an OOM score is advice, not a need\n",
		why: "where the host withholds CAP_SYS_RESOURCE the shim cannot set its OOM score, and fails its start",
	}}
}

// gvisorBinaries maps each binary built to its package in the module.
var gvisorBinaries = [][2]string{
	{"runsc", "./runsc"},
	{"containerd-shim-runsc-v1", "./shim"},
}

// GvisorDir is where Gvisor installs what it builds unless told otherwise:
// the directory whose runsc the runsc runtime runs before any in PATH.
const GvisorDir = oci.BuiltRunscDir

// GvisorOptions says where Gvisor builds and installs.
type GvisorOptions struct {
	// Dir is where runsc and containerd-shim-runsc-v1 go; "" is GvisorDir.
	Dir string
	// CacheDir holds the build directory (gvisor-build/VERSION-PATCHES):
	// the patched copy of the module, reused by a later build.
	CacheDir string
	// DryRun prints what would be built, and builds nothing.
	DryRun bool
	// Getenv finds GOROOT when no go command is in PATH.
	Getenv func(string) string
}

// Gvisor builds runsc and containerd-shim-runsc-v1 at gvisorVersion into
// o.Dir, unless they are there already, printing to w what it finds and
// does.
func Gvisor(ctx context.Context, w io.Writer, o GvisorOptions) error {
	dir, dryRun := o.Dir, o.DryRun
	if dir == "" {
		dir = GvisorDir
	}
	stamp := filepath.Join(dir, "VERSION")
	want := gvisorModule + "@" + gvisorVersion + " patches " + patchesDigest(gvisorPatches()) + "\n"
	if b, err := os.ReadFile(stamp); err == nil && string(b) == want && allExecutable(dir) {
		fmt.Fprintf(w, "ok       gvisor           %s in %s\n", gvisorVersion, dir)
		return nil
	}
	fmt.Fprintf(w, "missing  gvisor           runsc and containerd-shim-runsc-v1 %s, built from its Go module into %s\n", gvisorVersion, dir)
	if dryRun {
		fmt.Fprintf(w, "would build %s@%s with the Go toolchain\n", gvisorModule, gvisorVersion)
		return nil
	}
	goBin, err := findGo(o.Getenv)
	if err != nil {
		return err
	}
	if o.CacheDir == "" {
		return errors.New("building gVisor: no cache directory for the build")
	}
	build := filepath.Join(o.CacheDir, "gvisor-build", gvisorVersion+"-"+patchesDigest(gvisorPatches()))
	if err := os.MkdirAll(build, 0o755); err != nil {
		return fmt.Errorf("gvisor build directory: %w", err)
	}
	fmt.Fprintf(w, "running: go mod download %s@%s\n", gvisorModule, gvisorVersion)
	src, err := goModDir(ctx, goBin, build, gvisorModule+"@"+gvisorVersion)
	if err != nil {
		return err
	}
	copyDir, err := patchedCopy(src, build, gvisorPatches())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	for _, b := range gvisorBinaries {
		out := filepath.Join(dir, b[0])
		tmp := out + ".tmp"
		fmt.Fprintf(w, "running: go build -o %s %s/%s\n", out, gvisorModule, strings.TrimPrefix(b[1], "./"))
		// runsc --version then names the pinned version.
		ld := "-s -w -checklinkname=0 -X gvisor.dev/gvisor/runsc/version.version=" + gvisorVersion
		cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags", ld, "-o", tmp, b[1])
		cmd.Dir = copyDir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local")
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Run(); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("building %s from %s@%s: %w\n%s", b[0], gvisorModule, gvisorVersion, err, tail(log.String(), 3000))
		}
		if err := os.Rename(tmp, out); err != nil {
			return fmt.Errorf("installing %s: %w", out, err)
		}
	}
	ver, err := exec.CommandContext(ctx, filepath.Join(dir, "runsc"), "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("the built runsc does not run: %w: %s", err, tail(string(ver), 500))
	}
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", stamp, err)
	}
	fmt.Fprintf(w, "installed gvisor %s in %s (%s)\n", gvisorVersion, dir, firstLine(string(ver)))
	return nil
}

// patchesDigest names a set of patches: a build with other patches is
// another build.
func patchesDigest(ps []gvisorPatch) string {
	h := sha256.New()
	for _, p := range ps {
		fmt.Fprintf(h, "%q %q %q\n", p.file, p.old, p.new)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func allExecutable(dir string) bool {
	for _, b := range gvisorBinaries {
		st, err := os.Stat(filepath.Join(dir, b[0]))
		if err != nil || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// findGo finds the Go command: in PATH, else where the official archive
// installs it.
func findGo(getenv func(string) string) (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	var candidates []string
	if getenv != nil {
		candidates = append(candidates, filepath.Join(getenv("GOROOT"), "bin", "go"))
	}
	for _, p := range append(candidates, "/usr/local/go/bin/go") {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("building gVisor needs the Go toolchain: no go command in PATH or /usr/local/go/bin")
}

// goModDir downloads a module into the module cache and returns its
// directory there.
func goModDir(ctx context.Context, goBin, dir, mod string) (string, error) {
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", mod)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil && err == nil {
		err = jerr
	}
	if err != nil || info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %v %s %s", mod, err, info.Error, strings.TrimSpace(stderr.String()))
	}
	return info.Dir, nil
}

// patchedCopy copies the module at src to build/src and applies the
// patches there, once: a copy made and patched before is reused. A patch
// whose text is not found exactly once is an error: the pinned source is
// not what it was.
func patchedCopy(src, build string, patches []gvisorPatch) (string, error) {
	dst := filepath.Join(build, "src")
	done := filepath.Join(dst, ".isobench-patched")
	if _, err := os.Stat(done); err == nil {
		return dst, nil
	}
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.CopyFS(tmp, os.DirFS(src)); err != nil {
		return "", fmt.Errorf("copying gVisor's source to %s: %w", tmp, err)
	}
	var applied []string
	for _, p := range patches {
		file := filepath.Join(tmp, filepath.FromSlash(p.file))
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("gvisor patch (%s): %w", p.why, err)
		}
		if n := strings.Count(string(b), p.old); n != 1 {
			return "", fmt.Errorf("gvisor patch of %s (%s): the text to change occurs %d times, want once", p.file, p.why, n)
		}
		if err := os.WriteFile(file, []byte(strings.Replace(string(b), p.old, p.new, 1)), 0o644); err != nil {
			return "", err
		}
		applied = append(applied, p.file+": "+p.why)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".isobench-patched"), []byte(strings.Join(applied, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dst); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// firstLine returns the first line of s, clipped to 200 bytes.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return clipText(line, 200)
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
