package ociimport

import (
	"bytes"
	"testing"
)

// The fuzz targets below feed arbitrary bytes to the readers of an
// image's documents, through the same bounded parsing Open uses: none
// may panic, and what they accept must hold what they promise.

func FuzzIndexManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2,"platform":{"os":"linux","architecture":"amd64"}}]}`))
	f.Add([]byte(`{"manifests":[{"digest":"sha512:00","size":-1}]}`))
	f.Add([]byte(`{"manifests":[{"digest":"md5:00"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := parseIndex(b)
		if err != nil {
			return
		}
		if len(im.Manifests) > maxIndexEntries {
			t.Fatalf("accepted %d entries", len(im.Manifests))
		}
		for _, d := range im.Manifests {
			if checkDescriptor("an entry", d, maxImageJSON) == nil {
				name := blobName(d.Digest)
				if bytes.Contains([]byte(name), []byte("..")) || len(name) > 200 {
					t.Fatalf("blob name %q", name)
				}
			}
		}
	})
}

func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":100}]}`))
	f.Add([]byte(`{"config":{"digest":"sha256:00","size":99999999999}}`))
	f.Add([]byte(`{"config":{},"layers":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest(b)
		if err != nil {
			return
		}
		if m.Config.Size < 0 || m.Config.Size > maxImageJSON || m.Config.Digest.Hex == "" {
			t.Fatalf("accepted configuration descriptor %+v", m.Config)
		}
		if len(m.Layers) > maxLayers {
			t.Fatalf("accepted %d layers", len(m.Layers))
		}
		for _, l := range m.Layers {
			if l.Size < 0 || l.Digest.Hex == "" {
				t.Fatalf("accepted layer descriptor %+v", l)
			}
		}
	})
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte(`{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}`))
	f.Add([]byte(`{"rootfs":{"type":"layers","diff_ids":["md5:00"]}}`))
	f.Add([]byte(`{"rootfs":{"type":"other"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := parseConfig(b)
		if err != nil {
			return
		}
		if cfg.RootFS.Type != "layers" || len(cfg.RootFS.DiffIDs) > maxLayers {
			t.Fatalf("accepted rootfs %+v", cfg.RootFS)
		}
	})
}
