package image

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
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
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// importRecipe names the way Import lays out an image; it is part of every
// imported image's ID.
const importRecipe = "isobench-import-recipe-1"

// maxLayoutJSON bounds the small JSON files of an OCI archive (index.json,
// oci-layout).
const maxLayoutJSON = 4 << 20

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
	Limits Limits
	// Force imports again even when the cache holds the image.
	Force bool
	// Log receives one line per step; nil discards them.
	Log io.Writer
}

// Import reads a user's image (see ImportOptions.Source) with
// go-containerregistry, unpacks its layers safely into a new image in the
// cache (see unpacker for what is refused), adds the agent at AgentPath and
// the directories sandboxes mount over, checks the result with Verify, and
// returns it. The image ID is a digest of the image's manifest digest, the
// agent and the import recipe, so importing the same image again finds it
// in the cache. Like Build, Import works under the cache lock and publishes
// the image only when it is complete.
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
	o.Limits = o.Limits.withDefaults()
	return nil
}

func importImage(ctx context.Context, opts ImportOptions) (*Image, error) {
	want, err := v1.ParsePlatform(opts.Platform)
	if err != nil || want.OS == "" || want.Architecture == "" {
		return nil, fmt.Errorf("platform %q: want os/arch, e.g. linux/amd64", opts.Platform)
	}
	agentSum, err := fileDigest(opts.Agent)
	if err != nil {
		return nil, fmt.Errorf("agent binary: %w", err)
	}
	images := imagesDir(opts.CacheDir)
	if err := os.MkdirAll(images, 0o755); err != nil {
		return nil, fmt.Errorf("make cache directory: %w", err)
	}
	unlock, err := lockCache(ctx, images, opts.Log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := removeLeftovers(images); err != nil {
		return nil, err
	}
	src, err := openSource(ctx, opts, *want, images)
	if src.cleanup != nil {
		defer src.cleanup()
	}
	if err != nil {
		return nil, err
	}
	cfg, err := src.img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image's configuration: %w", err)
	}
	if cfg.OS != want.OS || cfg.Architecture != want.Architecture {
		return nil, fmt.Errorf("the image is for %s/%s; this host runs %s/%s", cfg.OS, cfg.Architecture, want.OS, want.Architecture)
	}
	// The configuration's digest names the image by its content (it lists
	// every layer's uncompressed digest) and costs nothing to get, where
	// the manifest digest of an archive with uncompressed layers would mean
	// compressing them all.
	digest, err := src.img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("reading the image's configuration digest: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", importRecipe, digest, agentSum, opts.Platform)
	id := hex.EncodeToString(h.Sum(nil))
	logf(opts.Log, "image %s: %s %s (%s)", shortID(id), src.kind, opts.Source, digest)

	final := filepath.Join(images, id)
	if !opts.Force {
		if img, err := Open(final); err == nil && img.ID == id {
			img.Reused = true
			logf(opts.Log, "image %s: reusing the cached import", shortID(id))
			return img, nil
		}
	}
	tmp, err := os.MkdirTemp(images, buildPrefix)
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
	if err := unpackImage(ctx, src.img, rootfs, opts.Limits); err != nil {
		return nil, err
	}
	if err := finishImport(rootfs, opts.Agent); err != nil {
		return nil, err
	}
	m, err := importManifest(ctx, rootfs, opts, digest.String(), cfg)
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
	if err := publish(images, tmp, final); err != nil {
		return nil, err
	}
	ok = true
	img.Dir, img.Rootfs = final, filepath.Join(final, rootfsName)
	logf(opts.Log, "image %s: imported in %.1fs", shortID(id), time.Since(start).Seconds())
	return img, nil
}

// source is an opened image and what to do when done with it.
type source struct {
	img     v1.Image
	kind    string // for messages: "OCI layout", "docker archive", ...
	cleanup func()
}

// looksLikePath reports whether s is meant as a file or directory rather
// than a registry reference.
func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		s == "." || s == ".." || strings.HasSuffix(s, ".tar") || strings.HasSuffix(s, ".tar.gz") || strings.HasSuffix(s, ".tgz")
}

func openSource(ctx context.Context, opts ImportOptions, want v1.Platform, work string) (source, error) {
	s := opts.Source
	fi, statErr := os.Stat(s)
	switch {
	case statErr == nil && fi.IsDir():
		img, err := fromLayout(s, want)
		return source{img: img, kind: "OCI layout"}, err
	case statErr == nil && fi.Mode().IsRegular():
		return fromArchive(ctx, s, want, work, opts.Limits)
	case statErr == nil:
		return source{}, fmt.Errorf("%s is neither a directory nor a regular file", s)
	case looksLikePath(s):
		return source{}, statErr
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return source{}, fmt.Errorf("not a file, a directory or an image reference: %w", err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(want), remote.WithUserAgent("isobench"))
	if err != nil {
		return source{}, fmt.Errorf("pulling from the registry: %w", err)
	}
	return source{img: img, kind: "registry image"}, nil
}

// fromLayout reads the image for platform want from an OCI layout
// directory.
func fromLayout(dir string, want v1.Platform) (v1.Image, error) {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout (no oci-layout file)", dir)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout: %w", err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout's index: %w", err)
	}
	return pickImage(idx, want, 0)
}

// pickImage finds the one image of an index for the platform.
func pickImage(idx v1.ImageIndex, want v1.Platform, depth int) (v1.Image, error) {
	if depth > 4 {
		return nil, errors.New("image indexes nest more than 4 deep")
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading an image index: %w", err)
	}
	var found []v1.Image
	var seen []string
	for _, d := range im.Manifests {
		if d.Platform != nil {
			seen = append(seen, d.Platform.String())
		}
		switch {
		case d.MediaType.IsIndex():
			sub, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading the image index %s: %w", d.Digest, err)
			}
			img, err := pickImage(sub, want, depth+1)
			if err == nil {
				found = append(found, img)
			}
		case d.MediaType.IsImage():
			if d.Platform != nil && !d.Platform.Satisfies(want) {
				continue
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading the image %s: %w", d.Digest, err)
			}
			found = append(found, img)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if len(seen) > 0 {
			return nil, fmt.Errorf("no image for %s (it has %s)", want.String(), strings.Join(seen, ", "))
		}
		return nil, errors.New("the index lists no image")
	}
	return nil, fmt.Errorf("%d images for %s: the layout must hold one", len(found), want.String())
}

// fromArchive reads a tar file (plain or gzip) holding a docker-archive or
// an OCI image layout.
func fromArchive(ctx context.Context, file string, want v1.Platform, work string, lim Limits) (source, error) {
	open := func() (io.ReadCloser, error) { return openMaybeGzip(file) }
	names, err := archiveNames(open)
	if err != nil {
		return source{}, err
	}
	switch {
	case names["manifest.json"]:
		img, err := tarball.Image(open, nil)
		if err != nil {
			return source{}, fmt.Errorf("reading the docker archive: %w", err)
		}
		return source{img: img, kind: "docker archive"}, nil
	case names["index.json"] && names["oci-layout"]:
		dir, err := os.MkdirTemp(work, buildPrefix+"oci-")
		if err != nil {
			return source{}, err
		}
		cleanup := func() { os.RemoveAll(dir) }
		if err := extractLayout(ctx, open, dir, lim); err != nil {
			return source{cleanup: cleanup}, err
		}
		img, err := fromLayout(dir, want)
		return source{img: img, kind: "OCI archive", cleanup: cleanup}, err
	}
	return source{}, fmt.Errorf("%s holds neither a docker archive (manifest.json) nor an OCI image layout (oci-layout, index.json)", file)
}

// gzipReadCloser closes the gzip stream and its file.
type gzipReadCloser struct {
	*gzip.Reader
	f *os.File
}

func (g gzipReadCloser) Close() error {
	g.Reader.Close()
	return g.f.Close()
}

// readCloser joins a reader with the file it reads.
type readCloser struct {
	io.Reader
	io.Closer
}

func openMaybeGzip(file string) (io.ReadCloser, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return gzipReadCloser{Reader: zr, f: f}, nil
	}
	return readCloser{Reader: br, Closer: f}, nil
}

// archiveNames lists the top-level file names of a tar archive.
func archiveNames(open func() (io.ReadCloser, error)) (map[string]bool, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	names := map[string]bool{}
	tr := tar.NewReader(rc)
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the archive: %w", err)
		}
		if n > 1_000_000 {
			return nil, errors.New("the archive has more than a million entries")
		}
		names[path.Clean(strings.TrimPrefix(hdr.Name, "./"))] = true
	}
}

var layoutBlob = regexp.MustCompile(`^blobs/[a-z0-9]+/[a-f0-9]{32,128}$`)
var layoutBlobDir = regexp.MustCompile(`^blobs(/[a-z0-9]+)?$`)

// extractLayout writes the OCI image layout held in a tar archive into
// dir. Only the layout's own files are taken (oci-layout, index.json and
// blobs/ALG/HEX, regular files within size limits); any other entry is
// refused by name.
func extractLayout(ctx context.Context, open func() (io.ReadCloser, error), dir string, lim Limits) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(rc)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the OCI archive: %w", err)
		}
		refuse := func(format string, args ...any) error {
			return fmt.Errorf("OCI archive entry %q: %s", hdr.Name, fmt.Sprintf(format, args...))
		}
		n := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
		switch {
		case n == "" || n == ".":
			continue
		case hdr.Typeflag == tar.TypeDir && layoutBlobDir.MatchString(n):
			if err := root.MkdirAll(n, 0o755); err != nil {
				return refuse("%v", err)
			}
			continue
		case n != "oci-layout" && n != "index.json" && !layoutBlob.MatchString(n):
			return refuse("not a file of an OCI image layout (oci-layout, index.json, blobs/ALGORITHM/DIGEST)")
		case hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA:
			return refuse("a %s where the layout has a regular file", tarKind(hdr.Typeflag))
		}
		limit := lim.MaxEntrySize
		if !strings.HasPrefix(n, "blobs/") {
			limit = maxLayoutJSON
		}
		if hdr.Size < 0 || hdr.Size > limit {
			return refuse("%d bytes, over the limit of %d", hdr.Size, limit)
		}
		if total += hdr.Size; total > lim.MaxTotalSize {
			return refuse("the archive holds more than %d bytes", lim.MaxTotalSize)
		}
		if d := path.Dir(n); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return refuse("%v", err)
			}
		}
		f, err := root.OpenFile(n, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return refuse("%v", err)
		}
		_, err = io.Copy(f, io.LimitReader(tr, hdr.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return refuse("%v", err)
		}
	}
}

func tarKind(t byte) string {
	switch t {
	case tar.TypeDir:
		return "directory"
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device node"
	case tar.TypeFifo:
		return "named pipe"
	}
	return fmt.Sprintf("entry of type %q", string(rune(t)))
}

// unpackImage applies every layer of img to rootfs. Layers are named by
// their uncompressed digest (diff ID), as the image's configuration lists
// them.
func unpackImage(ctx context.Context, img v1.Image, rootfs string, lim Limits) error {
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("reading the image's layers: %w", err)
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	u := newUnpacker(root, lim, os.Geteuid() == 0)
	for i, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			return fmt.Errorf("layer %d of %d: %w", i+1, len(layers), err)
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return fmt.Errorf("layer %d of %d (%s): %w", i+1, len(layers), shortDigest(d), err)
		}
		err = u.applyLayer(ctx, rc, i+1, len(layers), shortDigest(d))
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("layer %d of %d (%s): %w", i+1, len(layers), shortDigest(d), cerr)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func shortDigest(h v1.Hash) string {
	s := h.String()
	if i := strings.IndexByte(s, ':'); i >= 0 && len(s) > i+13 {
		return s[:i+13]
	}
	return s
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
	if abs, err := filepath.Abs(src); err == nil && looksLikePath(src) {
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
