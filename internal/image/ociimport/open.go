package ociimport

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/isobench/isobench/internal/inputfile"
)

// IsPath reports whether the source s is meant as a file or directory rather
// than a registry reference.
func IsPath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		s == "." || s == ".." || strings.HasSuffix(s, ".tar") || strings.HasSuffix(s, ".tar.gz") || strings.HasSuffix(s, ".tgz")
}

// Open opens the image source names, for platform want, and reads and
// checks its manifest and configuration: source is a directory holding an
// OCI image layout, a tar file (plain or gzip-compressed) holding an OCI
// image layout or a docker-archive, or a registry reference (anonymous
// pulls only). Its layers are read and checked by Unpack; Close releases
// what it holds open.
func Open(ctx context.Context, source string, want v1.Platform) (*Source, error) {
	s := source
	fi, statErr := os.Stat(s)
	switch {
	case statErr == nil && fi.IsDir():
		return fromLayout(s, want)
	case statErr == nil && fi.Mode().IsRegular():
		return fromArchive(s, want)
	case statErr == nil:
		return nil, fmt.Errorf("%s is %s, neither a directory nor a regular file", s, inputfile.Kind(fi.Mode()))
	case IsPath(s):
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
func fromLayout(dir string, want v1.Platform) (*Source, error) {
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
func fromArchive(file string, want v1.Platform) (*Source, error) {
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
	var src *Source
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

// Unpack applies every layer of s to rootfs, lowest first, within lim
// (see Limits) and watched by space (nil: not watched), checking each
// against its digests while it is applied: the stored bytes against the
// manifest's digest and size, the uncompressed tar stream against the
// configuration's diff_id. A layer is read once: the check ends when its
// last byte has been applied. A mismatch is a DigestError, a refused entry
// an UnpackError; either way the caller removes rootfs.
func (src *Source) Unpack(ctx context.Context, rootfs string, lim Limits, space *SpaceGuard) error {
	lim = lim.WithDefaults()
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
