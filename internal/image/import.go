package image

import (
	"archive/tar"
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

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/isobench/isobench/internal/cachedir"
	"github.com/isobench/isobench/internal/inputfile"
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
	src, err := openSource(ctx, opts, *want)
	if err != nil {
		return nil, err
	}
	defer src.close()
	cfg := src.cfg
	if cfg.OS != want.OS || cfg.Architecture != want.Architecture {
		return nil, fmt.Errorf("the image is for %s/%s; this host runs %s/%s", cfg.OS, cfg.Architecture, want.OS, want.Architecture)
	}
	id := importID(src, agentSum, opts.Platform)
	logf(opts.Log, "image %s: %s %s (%s)", cachedir.ShortID(id), src.kind, opts.Source, src.config)
	space, err := checkSpace(images, src.declaredSize(), opts.Limits)
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
	if err := unpackImage(ctx, src, rootfs, opts.Limits, space); err != nil {
		return nil, err
	}
	if err := finishImport(rootfs, opts.Agent); err != nil {
		return nil, err
	}
	m, err := importManifest(ctx, rootfs, opts, src.config.String(), cfg)
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
func importID(src *imageSource, agentSum, platform string) string {
	manifest := "none (docker archive)"
	if src.manifest.Hex != "" {
		manifest = src.manifest.String()
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\nmanifest %s\nconfig %s\n%s\n%s\n", importRecipe, manifest, src.config, agentSum, platform)
	return hex.EncodeToString(h.Sum(nil))
}

// looksLikePath reports whether s is meant as a file or directory rather
// than a registry reference.
func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		s == "." || s == ".." || strings.HasSuffix(s, ".tar") || strings.HasSuffix(s, ".tar.gz") || strings.HasSuffix(s, ".tgz")
}

// openSource opens the image the options name and reads and checks its
// manifest and configuration.
func openSource(ctx context.Context, opts ImportOptions, want v1.Platform) (*imageSource, error) {
	s := opts.Source
	fi, statErr := os.Stat(s)
	switch {
	case statErr == nil && fi.IsDir():
		return fromLayout(s, want)
	case statErr == nil && fi.Mode().IsRegular():
		return fromArchive(s, want)
	case statErr == nil:
		return nil, fmt.Errorf("%s is %s, neither a directory nor a regular file", s, inputfile.Kind(fi.Mode()))
	case looksLikePath(s):
		return nil, statErr
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("not a file, a directory or an image reference: %w", err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(want), remote.WithUserAgent("isobench"))
	if err != nil {
		return nil, fmt.Errorf("pulling from the registry: %w", err)
	}
	src, err := readRemote(img)
	if err != nil {
		return nil, fmt.Errorf("the registry's image: %w", err)
	}
	src.close = func() error { return nil }
	return src, nil
}

// fromLayout reads the image for platform want from an OCI layout
// directory.
func fromLayout(dir string, want v1.Platform) (*imageSource, error) {
	st, err := newDirStore(dir)
	if err != nil {
		return nil, err
	}
	if _, err := st.root.Lstat("oci-layout"); err != nil {
		st.close()
		return nil, fmt.Errorf("%s is not an OCI image layout (no oci-layout file)", dir)
	}
	src, err := readOCI(st, "OCI layout", want)
	if err != nil {
		st.close()
		return nil, err
	}
	src.close = st.close
	return src, nil
}

// fromArchive reads a tar file (plain or gzip) holding a docker-archive or
// an OCI image layout, without extracting it: the entries an image needs
// are read where they lie, and nothing else is read at all.
func fromArchive(file string, want v1.Platform) (*imageSource, error) {
	// An OCI archive holds only the layout's own files; the first such
	// refusal is kept until the archive's kind is known.
	var ociErr error
	check := func(hdr *tar.Header) error {
		if ociErr == nil {
			ociErr = ociArchiveCheck(hdr)
		}
		return nil
	}
	t, err := openTarStore(file, check, "manifest.json", "index.json", "oci-layout")
	if err != nil {
		return nil, err
	}
	var src *imageSource
	switch {
	case t.has("manifest.json"):
		t.links = true
		src, err = readDocker(t)
	case t.has("index.json") && t.has("oci-layout"):
		if ociErr != nil {
			err = ociErr
			break
		}
		src, err = readOCI(t, "OCI archive", want)
	default:
		err = fmt.Errorf("%s holds neither a docker archive (manifest.json) nor an OCI image layout (oci-layout, index.json)", file)
	}
	if err != nil {
		t.close()
		return nil, err
	}
	src.close = t.close
	return src, nil
}

// readCloser joins a reader with what closes it.
type readCloser struct {
	io.Reader
	io.Closer
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

// unpackImage applies every layer of src to rootfs, lowest first, checking
// each against its digests while it is applied: the stored bytes against
// the manifest's digest and size, the uncompressed tar stream against the
// configuration's diff_id. A layer is read once: the check ends when its
// last byte has been applied, and a mismatch fails the import, whose
// directory is then removed, before anything is published.
func unpackImage(ctx context.Context, src *imageSource, rootfs string, lim Limits, space *spaceGuard) error {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	u := newUnpacker(root, lim, os.Geteuid() == 0)
	u.space = space
	for i, l := range src.layers {
		if err := unpackLayer(ctx, u, l, i+1, len(src.layers)); err != nil {
			return err
		}
	}
	return nil
}

// maxTrailing bounds what a layer may hold after its tar stream's end
// (tar writers pad to a record of 10 KiB).
const maxTrailing = 16 << 20

// maxRecheck bounds what is still read of a stored layer after its
// unpacking failed, to tell an altered layer from a hostile one.
const maxRecheck = 1 << 30

// storedLayer gives go-containerregistry a layer's stored bytes, through
// the hashing reader, for it to detect and undo their compression.
type storedLayer struct {
	l layerSource
	r io.Reader
}

func (s storedLayer) Digest() (v1.Hash, error)            { return s.l.digest, nil }
func (s storedLayer) Compressed() (io.ReadCloser, error)  { return io.NopCloser(s.r), nil }
func (s storedLayer) Size() (int64, error)                { return s.l.size, nil }
func (s storedLayer) MediaType() (types.MediaType, error) { return s.l.mediaType, nil }
func (s storedLayer) DiffID() (v1.Hash, error)            { return s.l.diffID, nil }

func unpackLayer(ctx context.Context, u *unpacker, l layerSource, i, n int) error {
	what := fmt.Sprintf("layer %d of %d", i, n)
	short := shortDigest(l.diffID)
	rc, err := l.open()
	if err != nil {
		return fmt.Errorf("%s (%s): %w", what, l.name, err)
	}
	defer rc.Close()
	stored, err := newHashingReader(rc, l.digest)
	if err != nil {
		return fmt.Errorf("%s (%s): %w", what, l.name, err)
	}
	layer, err := partial.CompressedToLayer(storedLayer{l: l, r: stored})
	if err != nil {
		return err
	}
	var applyErr error
	var plain *hashingReader
	ur, err := layer.Uncompressed()
	if err == nil {
		plain, err = newHashingReader(ur, l.diffID)
	}
	if err != nil {
		applyErr = fmt.Errorf("%s (%s): %w", what, l.name, err)
	} else {
		applyErr = u.applyLayer(ctx, plain, i, n, short)
		if applyErr == nil {
			// The tar stream's end: what may follow it is part of the
			// uncompressed digest too.
			m, err := io.Copy(io.Discard, io.LimitReader(plain, maxTrailing+1))
			switch {
			case err != nil:
				applyErr = fmt.Errorf("%s (%s): %w", what, l.name, err)
			case m > maxTrailing:
				applyErr = fmt.Errorf("%s (%s): more than %d bytes after the end of its tar stream", what, l.name, maxTrailing)
			}
		}
		// Ends any decompressor's own reading before the rest is hashed.
		ur.Close()
	}
	if applyErr != nil && ctx.Err() != nil {
		return applyErr
	}
	// The stored bytes the decompressor left, if any, are hashed too: the
	// whole blob is checked. After a failure, an altered layer is told
	// apart from a hostile one when the rest is not too long to read.
	if applyErr == nil || l.size < 0 || l.size-stored.count() <= maxRecheck {
		limit := int64(maxRecheck)
		if l.size >= 0 {
			limit = l.size - stored.count() + 1
		}
		if _, err := io.Copy(io.Discard, io.LimitReader(stored, limit)); err != nil && applyErr == nil {
			return fmt.Errorf("%s (%s): %w", what, l.name, err)
		}
		if l.size >= 0 && stored.count() != l.size {
			return &DigestError{What: what, Name: l.name, Check: "size", Want: fmt.Sprintf("%d bytes", l.size), Got: fmt.Sprintf("%d bytes", stored.count())}
		}
		if got := stored.sum(); l.digest.Hex != "" && got != l.digest {
			return &DigestError{What: what, Name: l.name, Check: "digest", Want: l.digest.String(), Got: got.String()}
		}
	}
	if applyErr != nil {
		return applyErr
	}
	if got := plain.sum(); got != l.diffID {
		return &DigestError{What: what, Name: l.name, Check: "uncompressed digest (the configuration's diff_id)", Want: l.diffID.String(), Got: got.String()}
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
