package ociimport

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxImageJSON bounds every JSON document of an image: an index.json, an
// image index, a manifest, a configuration, a docker archive's
// manifest.json, an oci-layout file. Real ones are a few KiB; a
// configuration with a long history a few hundred.
const maxImageJSON = 4 << 20

// maxLayers bounds the layers of one image (real images have tens; the
// kernel's overlayfs stacks at most about 500).
const maxLayers = 1000

// maxIndexEntries bounds the descriptors of one image index.
const maxIndexEntries = 10000

// DigestError says that a blob of an image is not what its descriptor
// says it is: the image was altered or damaged. Nothing of such an image
// is kept.
type DigestError struct {
	// What is the part of the image: "the manifest", "the configuration",
	// "layer 2 of 3", "the image index".
	What string
	// Name is the blob's file: blobs/ALGORITHM/HEX in an OCI layout, the
	// entry's name in a docker archive.
	Name string
	// Check is what did not match: "digest", "size", or "uncompressed
	// digest (the configuration's diff_id)".
	Check string
	// Want is what the referring document says, Got what the blob holds.
	Want, Got string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s (%s) does not match its %s: expected %s, got %s: the image was altered or damaged", e.What, e.Name, e.Check, e.Want, e.Got)
}

// blobName is the file of a blob in an OCI image layout. The digest was
// parsed by v1.Hash, so its algorithm is a known one and its hex is hex:
// the name cannot climb out of blobs/.
func blobName(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// checkDescriptor checks what a descriptor says before its blob is read:
// a digest of a known algorithm, a size that is not negative and, for a
// document read whole (max > 0), not over max.
func checkDescriptor(what string, d v1.Descriptor, max int64) error {
	if d.Digest.Algorithm == "" || d.Digest.Hex == "" {
		return fmt.Errorf("%s has no digest", what)
	}
	if _, err := v1.Hasher(d.Digest.Algorithm); err != nil {
		return fmt.Errorf("%s (%s): %w", what, d.Digest, err)
	}
	if d.Size < 0 {
		return fmt.Errorf("%s (%s) has a negative size, %d", what, d.Digest, d.Size)
	}
	if max > 0 && d.Size > max {
		return fmt.Errorf("%s (%s) is %d bytes, over the limit of %d bytes for a document of an image", what, d.Digest, d.Size, max)
	}
	return nil
}

// verifyBytes checks a blob read whole against its descriptor.
func verifyBytes(what, name string, d v1.Descriptor, b []byte) error {
	if int64(len(b)) != d.Size {
		return &DigestError{What: what, Name: name, Check: "size", Want: fmt.Sprintf("%d bytes", d.Size), Got: fmt.Sprintf("%d bytes", len(b))}
	}
	got, err := digestOf(d.Digest.Algorithm, b)
	if err != nil {
		return err
	}
	if got != d.Digest {
		return &DigestError{What: what, Name: name, Check: "digest", Want: d.Digest.String(), Got: got.String()}
	}
	return nil
}

// digestOf hashes b with the named algorithm.
func digestOf(alg string, b []byte) (v1.Hash, error) {
	if alg == "sha256" {
		h, _, err := v1.SHA256(bytes.NewReader(b))
		return h, err
	}
	hh, err := v1.Hasher(alg)
	if err != nil {
		return v1.Hash{}, err
	}
	hh.Write(b)
	return sumOf(alg, hh), nil
}

func sumOf(alg string, h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: alg, Hex: fmt.Sprintf("%x", h.Sum(nil))}
}

// hashingReader hashes and counts what is read through it. Reads are
// serialized: a decompressor may read ahead from another goroutine, and
// every byte must reach the hash in order.
type hashingReader struct {
	mu  sync.Mutex
	r   io.Reader
	alg string
	h   hash.Hash
	n   int64
	eof bool
}

// newHashingReader hashes r with the algorithm of want (sha256 when want
// is the zero Hash, for a blob whose digest nothing states).
func newHashingReader(r io.Reader, want v1.Hash) (*hashingReader, error) {
	alg := want.Algorithm
	if alg == "" {
		alg = "sha256"
	}
	h, err := v1.Hasher(alg)
	if err != nil {
		return nil, err
	}
	return &hashingReader{r: r, alg: alg, h: h}, nil
}

func (h *hashingReader) Read(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	if errors.Is(err, io.EOF) {
		h.eof = true
	}
	return n, err
}

func (h *hashingReader) sum() v1.Hash {
	h.mu.Lock()
	defer h.mu.Unlock()
	return sumOf(h.alg, h.h)
}

// count returns how many bytes were read.
func (h *hashingReader) count() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// parseIndex parses an OCI index.json or image index, after checking its
// size, and checks its descriptors.
func parseIndex(b []byte) (*v1.IndexManifest, error) {
	if len(b) > maxImageJSON {
		return nil, fmt.Errorf("an image index of %d bytes, over the limit of %d", len(b), maxImageJSON)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not an image index: %w", err)
	}
	if len(im.Manifests) > maxIndexEntries {
		return nil, fmt.Errorf("an image index of %d entries, over the limit of %d", len(im.Manifests), maxIndexEntries)
	}
	return im, nil
}

// parseManifest parses an image manifest, after checking its size, and
// checks its descriptors.
func parseManifest(b []byte) (*v1.Manifest, error) {
	if len(b) > maxImageJSON {
		return nil, fmt.Errorf("a manifest of %d bytes, over the limit of %d", len(b), maxImageJSON)
	}
	m, err := v1.ParseManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not an image manifest: %w", err)
	}
	if err := checkDescriptor("its configuration", m.Config, maxImageJSON); err != nil {
		return nil, fmt.Errorf("the manifest: %w", err)
	}
	if len(m.Layers) > maxLayers {
		return nil, fmt.Errorf("the manifest lists %d layers, over the limit of %d", len(m.Layers), maxLayers)
	}
	for i, l := range m.Layers {
		if err := checkDescriptor(fmt.Sprintf("layer %d of %d", i+1, len(m.Layers)), l, 0); err != nil {
			return nil, fmt.Errorf("the manifest: %w", err)
		}
	}
	return m, nil
}

// parseConfig parses an image configuration, after checking its size, and
// checks that it describes a root filesystem made of layers.
func parseConfig(b []byte) (*v1.ConfigFile, error) {
	if len(b) > maxImageJSON {
		return nil, fmt.Errorf("a configuration of %d bytes, over the limit of %d", len(b), maxImageJSON)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not an image configuration: %w", err)
	}
	if cfg.RootFS.Type != "layers" {
		return nil, fmt.Errorf("the configuration's rootfs type is %q, not \"layers\"", cfg.RootFS.Type)
	}
	if len(cfg.RootFS.DiffIDs) > maxLayers {
		return nil, fmt.Errorf("the configuration lists %d layers, over the limit of %d", len(cfg.RootFS.DiffIDs), maxLayers)
	}
	for i, d := range cfg.RootFS.DiffIDs {
		if _, err := v1.Hasher(d.Algorithm); err != nil {
			return nil, fmt.Errorf("the configuration's diff_id %d (%q): %w", i+1, d.String(), err)
		}
	}
	return cfg, nil
}
