package image

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/isobench/isobench/internal/cachedir"
	"github.com/isobench/isobench/internal/image/ociimport"
)

// importRecipe names the way Import lays out an image; it is part of every
// imported image's ID.
const importRecipe = "isobench-import-recipe-2"

// ImportOptions says which image Import reads and where it keeps it.
type ImportOptions struct {
	// CacheDir is isobench's cache directory, as for Build.
	CacheDir string
	// Agent is the host path of the static isobench-agent binary, added
	// to the image at AgentPath (required, absolute).
	Agent string
	// Source is the image: a directory holding an OCI image layout, a tar
	// file (plain or gzip-compressed) holding an OCI image layout or a
	// docker-archive (as `docker save` writes), or a registry reference
	// such as registry.example/team/bench:1.2 (anonymous pulls only).
	Source string
	// Platform is the platform to take from a multi-platform image, and
	// that the image must be for: "os/arch[/variant]"; "" means this
	// host's (linux/GOARCH).
	Platform string
	// Limits bound what the image may hold; zero fields take the defaults.
	Limits ociimport.Limits
	// Force imports again even when the cache holds the image.
	Force bool
	// Log receives one line per step; nil discards them.
	Log io.Writer
}

// Import reads a user's image (see ImportOptions.Source) and unpacks its
// layers safely into a new image in the cache, with package ociimport
// (whose doc says what is checked and refused), adds the agent at
// AgentPath and the directories sandboxes mount over, checks the result
// with Verify, and returns it. The image ID is a digest of the image's
// manifest digest, the agent and the import recipe, so importing the same
// image again finds it in the cache. Like Build, Import works under the
// cache lock and publishes the image only when it is complete.
func Import(ctx context.Context, opts ImportOptions) (*Image, error) {
	if err := opts.normalize(); err != nil {
		return nil, fmt.Errorf("import image: %w", err)
	}
	img, err := importImage(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("import image %s: %w", opts.Source, err)
	}
	return img, nil
}

func (o *ImportOptions) normalize() error {
	switch {
	case o.CacheDir == "":
		return errors.New("no cache directory given (ImportOptions.CacheDir)")
	case !filepath.IsAbs(o.CacheDir):
		return fmt.Errorf("cache directory %q is not an absolute path", o.CacheDir)
	case o.Agent == "":
		return errors.New("no agent binary given (ImportOptions.Agent)")
	case !filepath.IsAbs(o.Agent):
		return fmt.Errorf("agent binary %q is not an absolute path", o.Agent)
	case strings.TrimSpace(o.Source) == "":
		return errors.New("no image given")
	}
	o.CacheDir = filepath.Clean(o.CacheDir)
	if o.Platform == "" {
		o.Platform = "linux/" + runtime.GOARCH
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	o.Limits = o.Limits.WithDefaults()
	return nil
}

func importImage(ctx context.Context, opts ImportOptions) (*Image, error) {
	want, err := v1.ParsePlatform(opts.Platform)
	if err != nil || want.OS == "" || want.Architecture == "" {
		return nil, fmt.Errorf("platform %q: want os/arch, e.g. linux/amd64", opts.Platform)
	}
	agentSum, err := cachedir.FileDigest(opts.Agent)
	if err != nil {
		return nil, fmt.Errorf("agent binary: %w", err)
	}
	images := imagesDir(opts.CacheDir)
	if err := os.MkdirAll(images, 0o755); err != nil {
		return nil, fmt.Errorf("make cache directory: %w", err)
	}
	// The image's documents are read and checked before the cache lock is
	// taken: an altered, oversized or unreadable image is refused without
	// holding up anyone else's import or build.
	src, err := ociimport.Open(ctx, opts.Source, *want)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	cfg := src.ConfigFile()
	if cfg.OS != want.OS || cfg.Architecture != want.Architecture {
		return nil, fmt.Errorf("the image is for %s/%s; this host runs %s/%s", cfg.OS, cfg.Architecture, want.OS, want.Architecture)
	}
	id := importID(src, agentSum, opts.Platform)
	logf(opts.Log, "image %s: %s %s (%s)", cachedir.ShortID(id), src.Kind(), opts.Source, src.Config())
	space, err := ociimport.CheckSpace(images, src.DeclaredSize(), opts.Limits)
	if err != nil {
		return nil, err
	}

	unlock, err := cachedir.Lock(ctx, images, opts.Log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := cachedir.RemoveLeftovers(images); err != nil {
		return nil, err
	}
	final := filepath.Join(images, id)
	if !opts.Force {
		if img, err := Open(final); err == nil && img.ID == id {
			img.Reused = true
			logf(opts.Log, "image %s: reusing the cached import", cachedir.ShortID(id))
			return img, nil
		}
	}
	tmp, err := os.MkdirTemp(images, cachedir.BuildPrefix)
	if err != nil {
		return nil, fmt.Errorf("make build directory: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	rootfs := filepath.Join(tmp, rootfsName)
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := src.Unpack(ctx, rootfs, opts.Limits, space); err != nil {
		return nil, err
	}
	if err := finishImport(rootfs, opts.Agent); err != nil {
		return nil, err
	}
	m, err := importManifest(ctx, rootfs, opts, src.Config().String(), cfg)
	if err != nil {
		return nil, err
	}
	img := &Image{ID: id, Dir: tmp, Rootfs: rootfs, Manifest: m, Built: time.Now().UTC()}
	if err := Verify(img); err != nil {
		return nil, fmt.Errorf("the imported image fails verification: %w", err)
	}
	if err := writeManifest(tmp, img); err != nil {
		return nil, err
	}
	if err := cachedir.Publish(images, tmp, final); err != nil {
		return nil, err
	}
	ok = true
	img.Dir, img.Rootfs = final, filepath.Join(final, rootfsName)
	logf(opts.Log, "image %s: imported in %.1fs", cachedir.ShortID(id), time.Since(start).Seconds())
	return img, nil
}

// importID names an imported image in the cache. It covers what was
// checked, and only that:
//
//   - the manifest's digest, checked against the descriptor that named it
//     (index.json, or the registry);
//   - the configuration's digest, checked against the manifest. The
//     configuration lists every layer's uncompressed digest (diff_id),
//     and each layer is checked against it before the image is published,
//     so the configuration's digest names every byte of the root
//     filesystem.
//
// A docker archive holds no manifest: go-containerregistry would make one
// up from the layer files as stored, so its digest proves nothing and
// changes with the layers' compression. Its ID covers the configuration's
// digest (computed from the bytes read) alone, which through the diff_ids
// still names every byte of the root filesystem; it differs from the ID of
// the same image read from a layout or a registry.
//
// So an image altered anywhere — its manifest, its configuration or a
// layer, with or without the descriptors above it edited to match — never
// gets the ID of the genuine image, and a cached image is only found
// under the ID of what it was verified against. A cache hit reads no
// layer: the cached root filesystem was made from layers that matched this
// very manifest.
func importID(src *ociimport.Source, agentSum, platform string) string {
	manifest := "none (docker archive)"
	if m := src.Manifest(); m.Hex != "" {
		manifest = m.String()
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\nmanifest %s\nconfig %s\n%s\n%s\n", importRecipe, manifest, src.Config(), agentSum, platform)
	return hex.EncodeToString(h.Sum(nil))
}

// finishImport adds the agent and the directories every image has.
func finishImport(rootfs, agentBin string) error {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	agentDir := strings.TrimPrefix(path.Dir(AgentPath), "/")
	// The image's own copy, if any, gives way to this isobench's agent.
	if err := root.RemoveAll(agentDir); err != nil {
		return fmt.Errorf("making room for the agent: %w", err)
	}
	if err := root.Mkdir(agentDir, 0o755); err != nil {
		return fmt.Errorf("adding the agent: %w", err)
	}
	in, err := os.Open(agentBin)
	if err != nil {
		return fmt.Errorf("adding the agent: %w", err)
	}
	defer in.Close()
	out, err := root.OpenFile(strings.TrimPrefix(AgentPath, "/"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return fmt.Errorf("adding the agent: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(0o755)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("adding the agent: %w", err)
	}
	for _, d := range emptyDirs() {
		p := strings.TrimPrefix(d.path, "/")
		if _, err := root.Lstat(p); err == nil {
			continue // the image's own (a directory, or a link it wants)
		}
		if dir := path.Dir(p); dir != "." {
			if fi, err := root.Lstat(dir); err != nil || !fi.IsDir() {
				continue
			}
		}
		if err := root.Mkdir(p, 0o700); err != nil {
			return fmt.Errorf("adding %s: %w", d.path, err)
		}
		if err := root.Chmod(p, d.mode|fs.ModeDir); err != nil {
			return fmt.Errorf("adding %s: %w", d.path, err)
		}
	}
	return nil
}

// importManifest describes an imported image: where it came from, where
// its tools are, and the directories its loader searches. Nothing of the
// image is run on the host: its tools' versions are left for the sandbox
// to tell.
func importManifest(ctx context.Context, rootfs string, opts ImportOptions, digest string, cfg *v1.ConfigFile) (Manifest, error) {
	src := opts.Source
	if abs, err := filepath.Abs(src); err == nil && ociimport.IsPath(src) {
		src = abs
	}
	m := Manifest{Source: fmt.Sprintf("%s (image %s)", src, digest), Tools: map[string]string{}, ToolPaths: map[string]string{}}
	vctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	out, err := exec.CommandContext(vctx, opts.Agent, "version").Output()
	if line := firstLine(out); line != "" {
		m.Tools["agent"] = line
	} else if err != nil {
		return m, fmt.Errorf("read the version of the agent: %w", err)
	}
	searchPath := DefaultPath
	for _, e := range cfg.Config.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			searchPath = v
		}
	}
	for _, tool := range append(DefaultTools(), "busybox") {
		for _, dir := range strings.Split(searchPath, ":") {
			if !path.IsAbs(dir) {
				continue
			}
			p := path.Join(dir, tool)
			if _, fi, err := resolveIn(rootfs, p, nil); err == nil && fi.Mode().IsRegular() {
				m.ToolPaths[tool] = p
				break
			}
		}
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return m, err
	}
	defer root.Close()
	dirs, err := parseLdSoConf(root.FS(), "/etc/ld.so.conf")
	if err != nil {
		return m, fmt.Errorf("the image's loader configuration: %w", err)
	}
	if len(dirs) > 0 {
		m.LibraryDirs = dedupe(append(dirs, defaultLibDirs(elf.ELFCLASS64, elf.ELFDATA2LSB, machineOf(runtime.GOARCH))...))
	}
	return m, nil
}

// machineOf maps a Go architecture to its ELF machine.
func machineOf(goarch string) elf.Machine {
	switch goarch {
	case "amd64":
		return elf.EM_X86_64
	case "arm64":
		return elf.EM_AARCH64
	case "ppc64le", "ppc64":
		return elf.EM_PPC64
	case "s390x":
		return elf.EM_S390
	case "riscv64":
		return elf.EM_RISCV
	case "loong64":
		return elf.EM_LOONGARCH
	}
	return elf.EM_NONE
}
