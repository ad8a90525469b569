package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/cachedir"
)

// recipe names the way Build lays out an image. It is part of every image
// ID: change it whenever the layout changes, so that images made the old
// way are not reused.
const recipe = "isobench-image-recipe-1"

// DefaultBusybox is the busybox Build uses when BuildOptions.Busybox is "".
const DefaultBusybox = "/bin/busybox"

// DefaultPath is the command search path Build uses when BuildOptions.Path
// is "": the standard system directories.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultTools returns the workload tools Build puts in an image when
// BuildOptions.Tools is empty.
func DefaultTools() []string { return []string{"sysbench", "fio", "iperf3"} }

// DefaultApps returns the application programs Build puts in an image,
// each when the host has it, when neither BuildOptions.Tools nor
// BuildOptions.Apps is given: the http workload's nginx and wrk, the
// redis workload's redis-server, redis-benchmark and redis-cli, and the
// python workload's python3 with its standard library (see addApp).
func DefaultApps() []string {
	return []string{"nginx", "wrk", "redis-server", "redis-benchmark", "redis-cli", "python3"}
}

// versionArgs are the arguments that make a program print its version,
// where "--version" does not.
var versionArgs = map[string]string{"nginx": "-v"}

// versionTimeout bounds each "--version" run of a host program.
const versionTimeout = 10 * time.Second

// BuildOptions says what goes into an image and where it is kept.
type BuildOptions struct {
	// CacheDir is isobench's cache directory (see DefaultCacheDir), an
	// absolute path; images live in CacheDir/images/ID.
	CacheDir string
	// Agent is the host path of the static isobench-agent binary
	// (required, absolute).
	Agent string
	// Tools are the workload programs to include: command names looked up
	// in Path, or absolute host paths. Empty means DefaultTools().
	Tools []string
	// Apps are application programs to include when the host has them
	// (a missing one is left out and logged, and the workloads that need
	// it are skipped): command names looked up in Path. Nil means
	// DefaultApps() when Tools is empty too, and none otherwise.
	Apps []string
	// Path is a colon-separated list of absolute directories in which Tools
	// and Apps are looked up; "" means DefaultPath.
	Path string
	// Busybox is the host path of a static busybox; "" means DefaultBusybox.
	// A dynamically linked busybox is refused.
	Busybox string
	// Force rebuilds the image even when the cache already holds it.
	Force bool
	// Log receives one line per build step; nil discards them.
	Log io.Writer
}

// normalize checks o and fills in the defaults.
func (o BuildOptions) normalize() (BuildOptions, error) {
	if o.CacheDir == "" {
		return o, errors.New("no cache directory given (BuildOptions.CacheDir)")
	}
	if !filepath.IsAbs(o.CacheDir) {
		return o, fmt.Errorf("cache directory %q is not an absolute path", o.CacheDir)
	}
	o.CacheDir = filepath.Clean(o.CacheDir)
	if o.Agent == "" {
		return o, errors.New("no agent binary given (BuildOptions.Agent)")
	}
	if !filepath.IsAbs(o.Agent) {
		return o, fmt.Errorf("agent binary %q is not an absolute path", o.Agent)
	}
	if o.Busybox == "" {
		o.Busybox = DefaultBusybox
	}
	if !filepath.IsAbs(o.Busybox) {
		return o, fmt.Errorf("busybox %q is not an absolute path", o.Busybox)
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	for _, d := range strings.Split(o.Path, ":") {
		if d != "" && !filepath.IsAbs(d) {
			return o, fmt.Errorf("tool search path %q: directory %q is not absolute", o.Path, d)
		}
	}
	if len(o.Tools) == 0 {
		o.Tools = DefaultTools()
		if o.Apps == nil {
			o.Apps = DefaultApps()
		}
	}
	seen := map[string]string{}
	for _, t := range append(append([]string(nil), o.Tools...), o.Apps...) {
		name := path.Base(t)
		switch {
		case t == "" || name == "." || name == "/":
			return o, fmt.Errorf("tool %q: not a command name or path", t)
		case strings.Contains(t, "/") && !path.IsAbs(t):
			return o, fmt.Errorf("tool %q: a path must be absolute", t)
		case name == "busybox":
			return o, fmt.Errorf("tool %q: busybox comes from BuildOptions.Busybox", t)
		case seen[name] != "":
			return o, fmt.Errorf("tools %q and %q have the same name", seen[name], t)
		}
		seen[name] = t
	}
	for _, a := range o.Apps {
		if strings.Contains(a, "/") {
			return o, fmt.Errorf("application %q: a command name, not a path", a)
		}
	}
	o.Tools = append([]string(nil), o.Tools...)
	o.Apps = append([]string(nil), o.Apps...)
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o, nil
}

// DefaultCacheDir returns isobench's cache directory following the XDG
// base directory spec: $XDG_CACHE_HOME/isobench, or $HOME/.cache/isobench
// when XDG_CACHE_HOME is unset or not absolute. getenv is how the caller
// reads its environment (os.Getenv in main); this package never reads it.
func DefaultCacheDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		return "", errors.New("default cache directory: no getenv function")
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "isobench"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("default cache directory: neither XDG_CACHE_HOME nor HOME is set")
	}
	if !filepath.IsAbs(home) {
		return "", fmt.Errorf("default cache directory: HOME %q is not an absolute path", home)
	}
	return filepath.Join(home, ".cache", "isobench"), nil
}

// Build makes the workload image described by opts, or finds it in the
// cache. It first reads every input from the host (the agent, the tools,
// busybox and every library they load) and derives the image ID from
// them; an image already complete under that ID is returned with Reused
// set, unless opts.Force is set. Otherwise the image is written into a
// temporary directory, checked with Verify and renamed into place, all
// while holding the cache lock, so concurrent isobench processes neither
// race nor see half-built images.
func Build(ctx context.Context, opts BuildOptions) (*Image, error) {
	opts, err := opts.normalize()
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	start := time.Now()
	p := newPlanner(opts)
	if err := p.plan(ctx); err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	id := p.tree.id(recipe)
	n, size := p.tree.totals()
	logf(opts.Log, "image %s: %d files, %.1f MiB from the host", cachedir.ShortID(id), n, float64(size)/(1<<20))

	images := imagesDir(opts.CacheDir)
	if err := os.MkdirAll(images, 0o755); err != nil {
		return nil, fmt.Errorf("build image: make cache directory: %w", err)
	}
	unlock, err := cachedir.Lock(ctx, images, opts.Log)
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	defer unlock()
	if err := cachedir.RemoveLeftovers(images); err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}

	final := filepath.Join(images, id)
	if !opts.Force {
		img, err := Open(final)
		switch {
		case err == nil && img.ID == id:
			img.Reused = true
			logf(opts.Log, "image %s: reusing the cached image", cachedir.ShortID(id))
			return img, nil
		case err == nil:
			logf(opts.Log, "image %s: its directory holds image %s; rebuilding", cachedir.ShortID(id), cachedir.ShortID(img.ID))
		case !errors.Is(err, os.ErrNotExist):
			logf(opts.Log, "image %s: cached copy unusable (%v); rebuilding", cachedir.ShortID(id), err)
		}
	}
	img, err := p.write(ctx, images, id)
	if err != nil {
		return nil, fmt.Errorf("build image %s: %w", cachedir.ShortID(id), err)
	}
	logf(opts.Log, "image %s: built in %.1fs", cachedir.ShortID(id), time.Since(start).Seconds())
	return img, nil
}

// write builds the planned image in a temporary directory under images,
// verifies it and moves it to images/id, replacing what is there.
func (p *planner) write(ctx context.Context, images, id string) (img *Image, err error) {
	tmp, err := os.MkdirTemp(images, cachedir.BuildPrefix)
	if err != nil {
		return nil, fmt.Errorf("make build directory: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	// MkdirTemp makes the directory private; sandboxes running as other
	// users (user namespaces) must be able to reach the rootfs.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("make build directory: %w", err)
	}
	rootfs := filepath.Join(tmp, rootfsName)
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return nil, fmt.Errorf("make rootfs: %w", err)
	}
	logf(p.opts.Log, "image %s: writing the root file system", cachedir.ShortID(id))
	if err := p.tree.write(ctx, rootfs); err != nil {
		return nil, err
	}
	if err := p.keepTimes(rootfs); err != nil {
		return nil, err
	}
	m, err := p.manifest(ctx, rootfs)
	if err != nil {
		return nil, err
	}
	img = &Image{ID: id, Dir: tmp, Rootfs: rootfs, Manifest: m, Built: time.Now().UTC()}
	if err := Verify(img); err != nil {
		return nil, fmt.Errorf("the new image fails verification: %w", err)
	}
	if err := writeManifest(tmp, img); err != nil {
		return nil, err
	}
	final := filepath.Join(images, id)
	if err := cachedir.Publish(images, tmp, final); err != nil {
		return nil, err
	}
	img.Dir, img.Rootfs = final, filepath.Join(final, rootfsName)
	return img, nil
}

// manifest gathers the manifest of the image written at rootfs: it runs
// the host's tools, busybox and agent for their versions.
func (p *planner) manifest(ctx context.Context, rootfs string) (Manifest, error) {
	m := Manifest{
		Source:      "host",
		Tools:       map[string]string{},
		ToolPaths:   p.toolPaths,
		Files:       p.tree.files(),
		Interpreter: p.interp,
	}
	for _, name := range p.toolOrder {
		arg := versionArgs[name]
		if arg == "" {
			arg = "--version"
		}
		v, err := p.version(ctx, p.toolLookup[name], arg)
		if err != nil {
			return m, err
		}
		m.Tools[name] = v
	}
	v, err := p.version(ctx, p.opts.Busybox, "--help")
	if err != nil {
		return m, err
	}
	m.Tools["busybox"] = v
	if v, err = p.version(ctx, p.opts.Agent, "version"); err != nil {
		return m, err
	}
	m.Tools["agent"] = v
	for _, d := range p.libraryDirs() {
		if _, fi, err := resolveIn(rootfs, d, nil); err == nil && fi.IsDir() {
			m.LibraryDirs = append(m.LibraryDirs, d)
		}
	}
	return m, nil
}

// version runs prog with arg on the host and returns the first non-empty
// line it prints.
func (p *planner) version(ctx context.Context, prog, arg string) (string, error) {
	out, err := p.run(ctx, versionTimeout, prog, arg)
	if line := firstLine(out); line != "" {
		return line, nil
	}
	if err != nil {
		return "", fmt.Errorf("read the version of %s: %w", prog, err)
	}
	return "", fmt.Errorf("read the version of %s: %s %s printed nothing", prog, prog, arg)
}

// firstLine returns the first non-blank line of b, trimmed.
func firstLine(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// logf writes one progress line; a failing log writer does not fail a build.
func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format+"\n", args...)
}

// keepTimes gives the application data files written under rootfs their
// host modification times (see addPythonLib).
func (p *planner) keepTimes(rootfs string) error {
	for inside, t := range p.times {
		if err := os.Chtimes(filepath.Join(rootfs, inside), t, t); err != nil {
			return fmt.Errorf("write image: %w", err)
		}
	}
	return nil
}
