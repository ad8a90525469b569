package ociimport

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Source is an image whose manifest and configuration have been read
// and checked against their digests, and whose layers are checked while
// they are unpacked.
type Source struct {
	kind string // for messages: "OCI layout", "docker archive", ...
	// manifest is the digest of the image's manifest, checked against the
	// descriptor that named it; the zero Hash for a docker archive, which
	// holds no manifest.
	manifest v1.Hash
	// config is the digest of the configuration: checked against the
	// manifest's descriptor, or (docker archive) computed from its bytes.
	config v1.Hash
	cfg    *v1.ConfigFile
	layers []layerSource
	close  func() error
}

// layerSource is one layer as stored, compressed or not, and what it must
// be.
type layerSource struct {
	// name is the layer's file, for messages.
	name string
	// digest is what the stored bytes must hash to; the zero Hash when
	// nothing states it (a docker archive's layer.tar), in which case the
	// diff ID alone vouches for the layer.
	digest v1.Hash
	// size is how many bytes are stored; -1 when unknown (a registry
	// layer, whose digest the registry client also checks).
	size int64
	// diffID is the digest of the uncompressed tar stream, from the
	// configuration.
	diffID    v1.Hash
	mediaType types.MediaType
	open      func() (io.ReadCloser, error)
}

// Kind says what the image was read from, for messages: "OCI layout",
// "OCI archive", "docker archive" or "registry image".
func (s *Source) Kind() string { return s.kind }

// Manifest is the digest of the image's manifest, checked against the
// descriptor that named it; the zero Hash for a docker archive, which
// holds no manifest.
func (s *Source) Manifest() v1.Hash { return s.manifest }

// Config is the digest of the image's configuration: checked against the
// manifest's descriptor, or (docker archive) computed from its bytes. The
// configuration names every layer's diff_id, so it names every byte of the
// root file system.
func (s *Source) Config() v1.Hash { return s.config }

// ConfigFile is the image's configuration.
func (s *Source) ConfigFile() *v1.ConfigFile { return s.cfg }

// Close releases the files the source holds open.
func (s *Source) Close() error { return s.close() }

// DeclaredSize is what the image's layers take as stored, as its manifest
// or archive declares it (unknown sizes count nothing).
func (s *Source) DeclaredSize() int64 {
	var n int64
	for _, l := range s.layers {
		if l.size > 0 {
			n += l.size
		}
	}
	return n
}

// ociStore reads the image for platform want from a store holding an OCI
// image layout. Every document is read bounded and checked against the
// descriptor naming it: the manifests and indexes against index.json, the
// configuration against the manifest; each layer's stored size is checked
// against the manifest now, its digests when it is unpacked.
func readOCI(s store, kind string, want v1.Platform) (*Source, error) {
	b, err := readSmall(s, "oci-layout")
	if err != nil {
		return nil, fmt.Errorf("reading the layout's oci-layout file: %w", err)
	}
	var marker struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(b, &marker); err != nil || marker.Version == "" {
		return nil, fmt.Errorf("the layout's oci-layout file does not give an imageLayoutVersion")
	}
	b, err = readSmall(s, "index.json")
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout's index: %w", err)
	}
	idx, err := parseIndex(b)
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout's index (index.json): %w", err)
	}
	r := &ociReader{s: s, want: want}
	md, m, err := r.pick(idx, "index.json", 0)
	if err != nil {
		return nil, err
	}
	src := &Source{kind: kind, manifest: md.Digest, config: m.Config.Digest}
	cfgBytes, err := r.blob("the configuration", m.Config)
	if err != nil {
		return nil, err
	}
	if src.cfg, err = parseConfig(cfgBytes); err != nil {
		return nil, fmt.Errorf("the configuration (%s): %w", blobName(m.Config.Digest), err)
	}
	if len(src.cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("the manifest (%s) lists %d layers and the configuration (%s) %d", blobName(md.Digest), len(m.Layers), blobName(m.Config.Digest), len(src.cfg.RootFS.DiffIDs))
	}
	for i, l := range m.Layers {
		what := fmt.Sprintf("layer %d of %d", i+1, len(m.Layers))
		name := blobName(l.Digest)
		n, err := s.size(name)
		switch {
		case errIsNotExist(err) && !l.MediaType.IsDistributable():
			return nil, fmt.Errorf("%s (%s) is a non-distributable layer that the layout does not hold", what, name)
		case errIsNotExist(err):
			return nil, fmt.Errorf("%s (%s) is missing from the layout", what, name)
		case err != nil:
			return nil, fmt.Errorf("%s: %w", what, err)
		case n != l.Size:
			return nil, &DigestError{What: what, Name: name, Check: "size", Want: fmt.Sprintf("%d bytes", l.Size), Got: fmt.Sprintf("%d bytes", n)}
		}
		src.layers = append(src.layers, layerSource{
			name: name, digest: l.Digest, size: l.Size, diffID: src.cfg.RootFS.DiffIDs[i], mediaType: l.MediaType,
			open: func() (io.ReadCloser, error) {
				rc, _, err := s.open(name)
				return rc, err
			},
		})
	}
	return src, nil
}

type ociReader struct {
	s    store
	want v1.Platform
}

// blob reads a document blob of the layout, checked against d.
func (r *ociReader) blob(what string, d v1.Descriptor) ([]byte, error) {
	if err := checkDescriptor(what, d, maxImageJSON); err != nil {
		return nil, err
	}
	name := blobName(d.Digest)
	b, err := readSmall(r.s, name)
	if errIsNotExist(err) {
		return nil, fmt.Errorf("%s (%s) is missing from the layout", what, name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := verifyBytes(what, name, d, b); err != nil {
		return nil, err
	}
	return b, nil
}

// pick finds the one image of an index for the platform, returning its
// descriptor and its manifest, both checked.
func (r *ociReader) pick(idx *v1.IndexManifest, where string, depth int) (v1.Descriptor, *v1.Manifest, error) {
	if depth > 4 {
		return v1.Descriptor{}, nil, errors.New("image indexes nest more than 4 deep")
	}
	type found struct {
		d v1.Descriptor
		m *v1.Manifest
	}
	var all []found
	var seen []string
	for _, d := range idx.Manifests {
		if d.Platform != nil {
			seen = append(seen, d.Platform.String())
		}
		switch {
		case d.MediaType.IsIndex():
			b, err := r.blob("the image index", d)
			if err != nil {
				return v1.Descriptor{}, nil, err
			}
			sub, err := parseIndex(b)
			if err != nil {
				return v1.Descriptor{}, nil, fmt.Errorf("the image index %s: %w", blobName(d.Digest), err)
			}
			sd, sm, err := r.pick(sub, blobName(d.Digest), depth+1)
			if err == nil {
				all = append(all, found{sd, sm})
			} else if !errors.Is(err, errNoMatch) {
				return v1.Descriptor{}, nil, err
			}
		case d.MediaType.IsImage():
			if d.Platform != nil && !d.Platform.Satisfies(r.want) {
				continue
			}
			b, err := r.blob("the manifest", d)
			if err != nil {
				return v1.Descriptor{}, nil, err
			}
			m, err := parseManifest(b)
			if err != nil {
				return v1.Descriptor{}, nil, fmt.Errorf("the manifest %s: %w", blobName(d.Digest), err)
			}
			all = append(all, found{d, m})
		}
	}
	switch len(all) {
	case 1:
		return all[0].d, all[0].m, nil
	case 0:
		if len(seen) > 0 {
			return v1.Descriptor{}, nil, fmt.Errorf("%w for %s (it has %s)", errNoMatch, r.want.String(), strings.Join(seen, ", "))
		}
		return v1.Descriptor{}, nil, fmt.Errorf("%s lists %w", where, errNoMatch)
	}
	return v1.Descriptor{}, nil, fmt.Errorf("%d images for %s: the layout must hold one", len(all), r.want.String())
}

// errNoMatch says an index holds no image for the platform: a nested
// index that has none is passed over, any other error is not.
var errNoMatch = errors.New("no image")

// ociArchiveCheck refuses an entry that is no file of an OCI image layout.
// Only the layout's own files are accepted (oci-layout, index.json and
// blobs/ALG/HEX, regular files), and its directories.
func ociArchiveCheck(hdr *tar.Header) error {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("OCI archive entry %q: %s", hdr.Name, fmt.Sprintf(format, args...))
	}
	n := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
	switch {
	case n == "" || n == ".":
		return nil
	case hdr.Typeflag == tar.TypeDir && layoutBlobDir.MatchString(n):
		return nil
	case hdr.Typeflag == tar.TypeXGlobalHeader:
		return nil
	case n != "oci-layout" && n != "index.json" && !layoutBlob.MatchString(n):
		return refuse("not a file of an OCI image layout (oci-layout, index.json, blobs/ALGORITHM/DIGEST)")
	case !isRegType(hdr.Typeflag):
		return refuse("a %s where the layout has a regular file", tarKind(hdr.Typeflag))
	case hdr.Size < 0:
		return refuse("a negative size")
	case hasSparseRecords(hdr):
		return refuse("a sparse file where the layout has a plain one")
	}
	return nil
}

var layoutBlob = regexp.MustCompile(`^blobs/[a-z0-9]+/[a-f0-9]{32,128}$`)
var layoutBlobDir = regexp.MustCompile(`^blobs(/[a-z0-9]+)?$`)

// Names of docker archive files that are digests of their content: a
// configuration named HEX.json (docker save) or sha256:HEX
// (go-containerregistry), and blobs/ALG/HEX (docker save since 25).
var (
	dockerConfigName = regexp.MustCompile(`^(?:sha256:)?([a-f0-9]{64})(?:\.json)?$`)
	dockerBlobName   = regexp.MustCompile(`^blobs/(sha256|sha512)/([a-f0-9]{64,128})$`)
)

// digestFromName returns the digest a docker archive's file name states,
// if it states one.
func digestFromName(name string, config bool) (v1.Hash, bool) {
	if m := dockerBlobName.FindStringSubmatch(name); m != nil {
		h, err := v1.NewHash(m[1] + ":" + m[2])
		return h, err == nil
	}
	if config {
		if m := dockerConfigName.FindStringSubmatch(name); m != nil {
			h, err := v1.NewHash("sha256:" + m[1])
			return h, err == nil
		}
	}
	return v1.Hash{}, false
}

// readDocker reads the image of a docker archive (docker save). It holds
// no manifest to check: its manifest.json names the configuration and the
// layers' files. The configuration's digest is computed from what is read
// (and checked against its file's name when the name is a digest); it
// covers the layers' uncompressed digests (diff_ids), which are checked
// as each layer is unpacked, as is a layer's own digest when its file is
// named by it.
func readDocker(s *tarStore) (*Source, error) {
	b, ok := s.small["manifest.json"]
	if !ok {
		return nil, errors.New("the docker archive's manifest.json is not a regular file")
	}
	var man tarball.Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		return nil, fmt.Errorf("reading the docker archive's manifest.json: %w", err)
	}
	if len(man) != 1 {
		return nil, fmt.Errorf("the docker archive holds %d images; it must hold one", len(man))
	}
	d := man[0]
	cfgBytes, err := readSmall(s, archiveName(d.Config))
	if err != nil {
		return nil, fmt.Errorf("reading the docker archive's configuration: %w", err)
	}
	got, err := digestOf("sha256", cfgBytes)
	if err != nil {
		return nil, err
	}
	if want, ok := digestFromName(archiveName(d.Config), true); ok {
		if got, err = digestOf(want.Algorithm, cfgBytes); err != nil {
			return nil, err
		}
		if got != want {
			return nil, &DigestError{What: "the configuration", Name: d.Config, Check: "digest", Want: want.String(), Got: got.String()}
		}
	}
	src := &Source{kind: "docker archive", config: got}
	if src.cfg, err = parseConfig(cfgBytes); err != nil {
		return nil, fmt.Errorf("the docker archive's configuration (%s): %w", d.Config, err)
	}
	if len(d.Layers) > maxLayers {
		return nil, fmt.Errorf("the docker archive lists %d layers, over the limit of %d", len(d.Layers), maxLayers)
	}
	if len(src.cfg.RootFS.DiffIDs) != len(d.Layers) {
		return nil, fmt.Errorf("the docker archive's manifest.json lists %d layers and its configuration (%s) %d", len(d.Layers), d.Config, len(src.cfg.RootFS.DiffIDs))
	}
	for i, l := range d.Layers {
		name := archiveName(l)
		n, err := s.size(name)
		if err != nil {
			return nil, fmt.Errorf("layer %d of %d: %w", i+1, len(d.Layers), err)
		}
		digest, _ := digestFromName(name, false)
		src.layers = append(src.layers, layerSource{
			name: l, digest: digest, size: n, diffID: src.cfg.RootFS.DiffIDs[i], mediaType: types.DockerLayer,
			open: func() (io.ReadCloser, error) {
				rc, _, err := s.open(name)
				return rc, err
			},
		})
	}
	return src, nil
}

// readRemote takes an image pulled from a registry. The registry client
// checks the manifest against the digest it was asked for (or computes
// it) and each blob against its digest; the configuration is checked here
// against the manifest, and the layers while they are unpacked.
func readRemote(img v1.Image) (*Source, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	m, err := parseManifest(raw)
	if err != nil {
		return nil, err
	}
	md, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if got, err := digestOf(md.Algorithm, raw); err != nil || got != md {
		return nil, &DigestError{What: "the manifest", Name: "the registry's manifest", Check: "digest", Want: md.String(), Got: got.String()}
	}
	cfgBytes, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the configuration: %w", err)
	}
	if err := verifyBytes("the configuration", m.Config.Digest.String(), m.Config, cfgBytes); err != nil {
		return nil, err
	}
	src := &Source{kind: "registry image", manifest: md, config: m.Config.Digest}
	if src.cfg, err = parseConfig(cfgBytes); err != nil {
		return nil, err
	}
	if len(src.cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("the manifest lists %d layers and the configuration %d", len(m.Layers), len(src.cfg.RootFS.DiffIDs))
	}
	for i, l := range m.Layers {
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return nil, fmt.Errorf("layer %d of %d (%s): %w", i+1, len(m.Layers), l.Digest, err)
		}
		src.layers = append(src.layers, layerSource{
			name: l.Digest.String(), digest: l.Digest, size: l.Size, diffID: src.cfg.RootFS.DiffIDs[i], mediaType: l.MediaType,
			open: layer.Compressed,
		})
	}
	return src, nil
}
