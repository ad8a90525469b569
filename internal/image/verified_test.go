package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/image/ociimport"
	"github.com/isobench/isobench/internal/testutil"
)

// ociImage is an OCI image made by hand, byte by byte, so that a test can
// alter any part of it and keep or fix the digests that name it.
type ociImage struct {
	layers   [][]byte // as stored
	tars     [][]byte // uncompressed
	config   []byte
	manifest []byte
	index    []byte
	// extra blobs the layout holds besides the image's own
	extra map[string][]byte
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func hexOf(b []byte) string { return strings.TrimPrefix(sha(b), "sha256:") }

// newOCIImage makes an image of gzip layers for linux/amd64.
func newOCIImage(t testing.TB, tars ...[]byte) *ociImage {
	o := &ociImage{tars: tars}
	for _, l := range tars {
		o.layers = append(o.layers, gz(t, l))
	}
	o.config = configFor(tars...)
	o.fix()
	return o
}

// configFor is the configuration of an image of these uncompressed
// layers.
func configFor(tars ...[]byte) []byte {
	var diffIDs []string
	for _, l := range tars {
		diffIDs = append(diffIDs, sha(l))
	}
	b, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{"PATH=/usr/bin:/bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	return b
}

// fix makes the manifest and the index name the layers and the
// configuration as they now are.
func (o *ociImage) fix() {
	var layers []map[string]any
	for _, l := range o.layers {
		layers = append(layers, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(l), "size": len(l)})
	}
	o.manifest, _ = json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(o.config), "size": len(o.config)},
		"layers": layers,
	})
	o.fixIndex()
}

func (o *ociImage) fixIndex() {
	o.index, _ = json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []map[string]any{{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(o.manifest), "size": len(o.manifest),
			"platform": map[string]any{"os": "linux", "architecture": "amd64"},
		}},
	})
}

// files are the layout's files: the blobs under the names the documents
// give them (set before any alteration), oci-layout and index.json.
func (o *ociImage) files(names map[string][]byte) map[string][]byte {
	f := map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`), "index.json": o.index}
	for n, b := range names {
		f[n] = b
	}
	for n, b := range o.extra {
		f[n] = b
	}
	return f
}

// blobs names each blob by its digest.
func (o *ociImage) blobs() map[string][]byte {
	m := map[string][]byte{}
	for _, b := range append([][]byte{o.config, o.manifest}, o.layers...) {
		m["blobs/sha256/"+hexOf(b)] = b
	}
	return m
}

func writeFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for n, b := range files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// tarFiles is an archive of files, in a fixed order (index.json last, so
// that a reader must not rely on the order).
func tarFiles(t testing.TB, files map[string][]byte) []byte {
	var ents []ent
	for _, n := range sortedKeys(files) {
		if n != "index.json" {
			ents = append(ents, file(n, string(files[n])))
		}
	}
	if b, ok := files["index.json"]; ok {
		ents = append(ents, file("index.json", string(b)))
	}
	return tarOf(t, ents)
}

func sortedKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// importFrom imports src into cache, failing the test when it takes more
// than 30 seconds (a read that blocks must not hang the test).
func importFrom(t *testing.T, cache, src string, lim ociimport.Limits) (*image.Image, error) {
	t.Helper()
	type result struct {
		img *image.Image
		err error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		img, err := image.Import(ctx, image.ImportOptions{CacheDir: cache, Agent: testutil.Agent(t), Source: src, Platform: "linux/amd64", Limits: lim})
		done <- result{img, err}
	}()
	select {
	case r := <-done:
		return r.img, r.err
	case <-time.After(40 * time.Second):
		t.Fatalf("importing %s hangs", src)
	}
	return nil, nil
}

// cachedImages lists what the cache's images directory holds besides its
// lock.
func cachedImages(t *testing.T, cache string) []string {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(cache, "images"))
	var out []string
	for _, e := range ents {
		if e.Name() != ".lock" {
			out = append(out, e.Name())
		}
	}
	return out
}

func genuineLayers(t testing.TB) [][]byte {
	return [][]byte{
		tarOf(t, []ent{dir("etc"), file("etc/motd", "genuine\n"), dir("usr"), dir("usr/bin"), file("usr/bin/tool", "#!/bin/sh\necho genuine\n")}),
		tarOf(t, []ent{dir("srv"), file("srv/data", strings.Repeat("data ", 1000))}),
	}
}

// TestImportVerifiesDigests imports images with one blob altered each,
// from a layout directory and from an OCI archive of it: each is refused
// naming the blob and both digests, and leaves nothing in the cache; the
// genuine image then imports.
func TestImportVerifiesDigests(t *testing.T) {
	testutil.Agent(t)
	tars := genuineLayers(t)
	genuine := newOCIImage(t, tars...)
	other := tarOf(t, []ent{dir("srv"), file("srv/data", strings.Repeat("evil ", 1000))})

	type tampered struct {
		name  string
		files func() map[string][]byte
		// what, check and want: the DigestError expected; got is computed
		// from the files when empty.
		what, check string
		blob        func() []byte // the blob the error must name
		want, got   string
	}
	flip := func(b []byte, at int) []byte {
		c := bytes.Clone(b)
		c[at] ^= 0x20
		return c
	}
	cases := []tampered{
		{name: "layer-altered", what: "layer 2 of 2", check: "digest",
			blob: func() []byte { return genuine.layers[1] },
			files: func() map[string][]byte {
				f := genuine.blobs()
				f["blobs/sha256/"+hexOf(genuine.layers[1])] = flip(genuine.layers[1], len(genuine.layers[1])/2)
				return genuine.files(f)
			},
			want: sha(genuine.layers[1]), got: sha(flip(genuine.layers[1], len(genuine.layers[1])/2))},
		{name: "layer-replaced", what: "layer 2 of 2", check: "size",
			blob: func() []byte { return genuine.layers[1] },
			files: func() map[string][]byte {
				f := genuine.blobs()
				f["blobs/sha256/"+hexOf(genuine.layers[1])] = gz(t, other)
				return genuine.files(f)
			},
			want: fmt.Sprintf("%d bytes", len(genuine.layers[1])), got: fmt.Sprintf("%d bytes", len(gz(t, other)))},
		{name: "config-altered", what: "the configuration", check: "digest",
			blob: func() []byte { return genuine.config },
			files: func() map[string][]byte {
				f := genuine.blobs()
				f["blobs/sha256/"+hexOf(genuine.config)] = bytes.Replace(genuine.config, []byte("/usr/bin"), []byte("/evi/bin"), 1)
				return genuine.files(f)
			},
			want: sha(genuine.config), got: sha(bytes.Replace(genuine.config, []byte("/usr/bin"), []byte("/evi/bin"), 1))},
		{name: "manifest-altered", what: "the manifest", check: "digest",
			blob: func() []byte { return genuine.manifest },
			files: func() map[string][]byte {
				f := genuine.blobs()
				f["blobs/sha256/"+hexOf(genuine.manifest)] = bytes.Replace(genuine.manifest, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":3`), 1)
				return genuine.files(f)
			},
			want: sha(genuine.manifest), got: sha(bytes.Replace(genuine.manifest, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":3`), 1))},
	}
	// A layer whose content is not the one the configuration names, with
	// the manifest and the index made to match it: only the diff_id
	// tells.
	diff := newOCIImage(t, tars...)
	diff.layers[1] = gz(t, other)
	diff.fix()
	cases = append(cases, tampered{name: "diff-id", what: "layer 2 of 2", check: "uncompressed digest (the configuration's diff_id)",
		blob:  func() []byte { return diff.layers[1] },
		files: func() map[string][]byte { return diff.files(diff.blobs()) },
		want:  sha(tars[1]), got: sha(other)})

	work := t.TempDir()
	for _, c := range cases {
		for _, kind := range []string{"layout", "archive", "gzip-archive"} {
			t.Run(c.name+"/"+kind, func(t *testing.T) {
				cache := filepath.Join(work, c.name+"-"+kind, "cache")
				src := filepath.Join(work, c.name+"-"+kind, "image")
				switch kind {
				case "layout":
					writeFiles(t, src, c.files())
				case "archive":
					src += ".tar"
					writeFiles(t, filepath.Dir(src), map[string][]byte{filepath.Base(src): tarFiles(t, c.files())})
				case "gzip-archive":
					src += ".tar.gz"
					writeFiles(t, filepath.Dir(src), map[string][]byte{filepath.Base(src): gz(t, tarFiles(t, c.files()))})
				}
				img, err := importFrom(t, cache, src, ociimport.Limits{})
				if err == nil {
					t.Fatalf("imported the altered image: %s", img.ID)
				}
				t.Log(err)
				var de *ociimport.DigestError
				if !errors.As(err, &de) {
					t.Fatalf("error %v: want an *ociimport.DigestError", err)
				}
				wantName := "blobs/sha256/" + hexOf(c.blob())
				if de.What != c.what || de.Check != c.check || de.Name != wantName || de.Want != c.want || de.Got != c.got {
					t.Errorf("error %+v\nwant what %q name %q check %q want %q got %q", de, c.what, wantName, c.check, c.want, c.got)
				}
				for _, s := range []string{c.what, wantName, c.want, c.got, src} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %q", err, s)
					}
				}
				if left := cachedImages(t, cache); len(left) > 0 {
					t.Errorf("the cache keeps %v after a refused import", left)
				}
				// The genuine image imports into the same cache afterwards.
				good := filepath.Join(filepath.Dir(src), "genuine")
				writeFiles(t, good, genuine.files(genuine.blobs()))
				img, err = importFrom(t, cache, good, ociimport.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(filepath.Join(img.Rootfs, "etc/motd"))
				if err != nil || string(b) != "genuine\n" {
					t.Errorf("/etc/motd %q (%v)", b, err)
				}
			})
		}
	}
}

// TestImportCacheKey checks that a cached genuine image is not served for
// an altered one with the same configuration: its manifest differs, so
// its ID does, and the altered layer is refused.
func TestImportCacheKey(t *testing.T) {
	testutil.Agent(t)
	tars := genuineLayers(t)
	genuine := newOCIImage(t, tars...)
	work := t.TempDir()
	cache := filepath.Join(work, "cache")
	good := filepath.Join(work, "genuine")
	writeFiles(t, good, genuine.files(genuine.blobs()))
	img, err := importFrom(t, cache, good, ociimport.Limits{})
	if err != nil {
		t.Fatal(err)
	}

	bad := newOCIImage(t, tars...)
	bad.layers[0] = gz(t, tarOf(t, []ent{dir("etc"), file("etc/motd", "tampered\n"), dir("usr"), dir("usr/bin"), file("usr/bin/tool", "#!/bin/sh\necho pwned\n")}))
	bad.fix()
	if !bytes.Equal(bad.config, genuine.config) {
		t.Fatal("the altered image must keep the genuine configuration")
	}
	badDir := filepath.Join(work, "tampered")
	writeFiles(t, badDir, bad.files(bad.blobs()))
	got, err := importFrom(t, cache, badDir, ociimport.Limits{})
	var de *ociimport.DigestError
	if err == nil || !errors.As(err, &de) || de.What != "layer 1 of 2" {
		t.Fatalf("import of the altered image with the genuine configuration: %v (image %v), want layer 1 refused", err, got)
	}
	// The genuine image is still there, and still found.
	again, err := importFrom(t, cache, good, ociimport.Limits{})
	if err != nil || !again.Reused || again.ID != img.ID {
		t.Fatalf("genuine image again: %v %v", again, err)
	}
}

// TestImportSpecialFiles gives named pipes, /dev/zero and links to them
// where the import reads a file: each is refused at once, without
// blocking.
func TestImportSpecialFiles(t *testing.T) {
	testutil.Agent(t)
	genuine := newOCIImage(t, genuineLayers(t)...)
	work := t.TempDir()
	mkfifo := func(p string) {
		os.Remove(p)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(target, p string) {
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	layout := func(name string, alter func(dir string)) string {
		d := filepath.Join(work, name)
		writeFiles(t, d, genuine.files(genuine.blobs()))
		alter(d)
		return d
	}
	layerBlob := "blobs/sha256/" + hexOf(genuine.layers[0])
	cases := []struct {
		name, src, want string
	}{
		{"index-fifo", layout("index-fifo", func(d string) { mkfifo(filepath.Join(d, "index.json")) }), "index.json: a FIFO (named pipe), not a regular file"},
		{"index-dev-zero", layout("index-dev-zero", func(d string) { symlink("/dev/zero", filepath.Join(d, "index.json")) }), "index.json: a symbolic link, not a regular file"},
		{"oci-layout-fifo", layout("oci-layout-fifo", func(d string) { mkfifo(filepath.Join(d, "oci-layout")) }), "oci-layout: a FIFO (named pipe), not a regular file"},
		{"manifest-fifo", layout("manifest-fifo", func(d string) { mkfifo(filepath.Join(d, "blobs/sha256/"+hexOf(genuine.manifest))) }), "blobs/sha256/" + hexOf(genuine.manifest) + ": a FIFO (named pipe), not a regular file"},
		{"layer-fifo", layout("layer-fifo", func(d string) { mkfifo(filepath.Join(d, layerBlob)) }), layerBlob + ": a FIFO (named pipe), not a regular file"},
		{"layer-dev-zero", layout("layer-dev-zero", func(d string) { symlink("/dev/zero", filepath.Join(d, layerBlob)) }), layerBlob + ": a symbolic link, not a regular file"},
		{"archive-dev-zero", "/dev/zero", "/dev/zero is a character device, neither a directory nor a regular file"},
		{"archive-link-to-dev-zero", func() string {
			p := filepath.Join(work, "zero.tar")
			symlink("/dev/zero", p)
			return p
		}(), "zero.tar is a character device, neither a directory nor a regular file"},
		{"archive-fifo", func() string {
			p := filepath.Join(work, "fifo.tar")
			mkfifo(p)
			return p
		}(), "fifo.tar is a FIFO (named pipe), neither a directory nor a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cache := filepath.Join(work, "cache-"+c.name)
			start := time.Now()
			_, err := importFrom(t, cache, c.src, ociimport.Limits{})
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("refused after %v", d)
			}
			if left := cachedImages(t, cache); len(left) > 0 {
				t.Errorf("the cache keeps %v", left)
			}
		})
	}
}

// TestImportOversizedDocuments gives documents over the 4 MiB limit.
func TestImportOversizedDocuments(t *testing.T) {
	testutil.Agent(t)
	genuine := newOCIImage(t, genuineLayers(t)...)
	work := t.TempDir()
	big := append(bytes.Repeat([]byte(" "), 5<<20), genuine.index...)
	d := filepath.Join(work, "big-index")
	f := genuine.files(genuine.blobs())
	f["index.json"] = big
	writeFiles(t, d, f)
	_, err := importFrom(t, filepath.Join(work, "cache"), d, ociimport.Limits{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("index.json is %d bytes", len(big))) || !strings.Contains(err.Error(), "over the limit of 4194304 bytes") {
		t.Errorf("big index.json: %v", err)
	}
	// The same in an archive: refused on the entry's header.
	archive := filepath.Join(work, "big-index.tar")
	writeFiles(t, work, map[string][]byte{"big-index.tar": tarFiles(t, f)})
	_, err = importFrom(t, filepath.Join(work, "cache"), archive, ociimport.Limits{})
	if err == nil || !strings.Contains(err.Error(), "over the limit of 4194304 bytes") {
		t.Errorf("big index.json in an archive: %v", err)
	}
	// A manifest whose descriptor claims more than the limit is refused
	// before it is read.
	o := newOCIImage(t, genuineLayers(t)...)
	o.index = bytes.Replace(o.index, []byte(fmt.Sprintf(`"size":%d`, len(o.manifest))), []byte(`"size":1099511627776`), 1)
	d = filepath.Join(work, "big-manifest")
	writeFiles(t, d, o.files(o.blobs()))
	_, err = importFrom(t, filepath.Join(work, "cache"), d, ociimport.Limits{})
	if err == nil || !strings.Contains(err.Error(), "the manifest (sha256:"+hexOf(o.manifest)+") is 1099511627776 bytes, over the limit") {
		t.Errorf("manifest descriptor of 1 TiB: %v", err)
	}
}

// paxRecord is one record of a PAX extended header.
func paxRecord(k, v string) string {
	s := " " + k + "=" + v + "\n"
	n := len(s) + 1
	for len(fmt.Sprint(n))+len(s) != n {
		n++
	}
	return fmt.Sprint(n) + s
}

// rawHeader is a ustar header block.
func rawHeader(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	for i := 148; i < 156; i++ {
		b[i] = ' '
	}
	var sum int
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func pad(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

// sparseTar is a layer holding one GNU sparse file (PAX format 1.0) of
// size realSize whose only data is 512 bytes of 'x' at offset at.
func sparseTar(name string, realSize, at int64) []byte {
	recs := paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0") +
		paxRecord("GNU.sparse.name", name) + paxRecord("GNU.sparse.realsize", fmt.Sprint(realSize))
	var out []byte
	out = append(out, rawHeader("PaxHeaders/"+name, 'x', int64(len(recs)))...)
	out = append(out, pad([]byte(recs))...)
	sparseMap := pad([]byte(fmt.Sprintf("1\n%d\n512\n", at)))
	data := bytes.Repeat([]byte("x"), 512)
	out = append(out, rawHeader("GNUSparseFile/"+name, '0', int64(len(sparseMap)+len(data)))...)
	out = append(out, sparseMap...)
	out = append(out, data...)
	return append(out, make([]byte, 1024)...)
}

// TestImportSparse imports sparse files: one claiming a terabyte in a
// tiny layer is refused at once, by its full size; one within the limits
// is written sparse.
func TestImportSparse(t *testing.T) {
	testutil.Agent(t)
	work := t.TempDir()
	huge := filepath.Join(work, "huge.tar")
	writeFiles(t, work, map[string][]byte{"huge.tar": dockerArchive(t, "sparse:1", sparseTar("big", 1<<40, 1<<39))})
	start := time.Now()
	_, err := importFrom(t, filepath.Join(work, "cache"), huge, ociimport.Limits{})
	var ue *ociimport.UnpackError
	if err == nil || !errors.As(err, &ue) || ue.Entry != "big" || !strings.Contains(err.Error(), "file of 1099511627776 bytes, over the limit of 8589934592 bytes for one file") {
		t.Fatalf("1 TiB sparse file: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("refused after %v", d)
	}
	ok := filepath.Join(work, "ok.tar")
	writeFiles(t, work, map[string][]byte{"ok.tar": dockerArchive(t, "sparse:2", sparseTar("holes", 256<<20, 128<<20))})
	img, err := importFrom(t, filepath.Join(work, "cache"), ok, ociimport.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(img.Rootfs, "holes"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != 256<<20 || st.Blocks*512 > 4<<20 {
		t.Errorf("the sparse file is %d bytes taking %d on disk; want 256 MiB taking a few KiB", st.Size, st.Blocks*512)
	}
	f, err := os.Open(filepath.Join(img.Rootfs, "holes"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1024)
	if _, err := f.ReadAt(b, 128<<20-512); err != nil || !bytes.Equal(b[:512], make([]byte, 512)) || !bytes.Equal(b[512:], bytes.Repeat([]byte("x"), 512)) {
		t.Errorf("the sparse file's data is not where the layer put it (%v)", err)
	}
}

// TestImportArchiveUnreferenced imports an OCI archive holding a large
// blob no index or manifest names: it is never written anywhere, and the
// import does not count it.
func TestImportArchiveUnreferenced(t *testing.T) {
	testutil.Agent(t)
	o := newOCIImage(t, genuineLayers(t)...)
	junk := bytes.Repeat([]byte("unreferenced "), 400000) // 5 MB
	o.extra = map[string][]byte{"blobs/sha256/" + hexOf(junk): junk}
	work := t.TempDir()
	archive := filepath.Join(work, "image.tar")
	writeFiles(t, work, map[string][]byte{"image.tar": tarFiles(t, o.files(o.blobs()))})
	cache := filepath.Join(work, "cache")
	img, err := importFrom(t, cache, archive, ociimport.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil && fi.Size() >= int64(len(junk)) {
				t.Errorf("%s (%d bytes) was written: the unreferenced blob?", p, fi.Size())
			}
		}
		return nil
	})
	if img.Manifest.Source == "" {
		t.Error("no source")
	}
}

// TestImportDepthAndModes checks that too deep a path is refused at once,
// and that no imported file or plain directory is writable by group or
// others, while sticky directories stay 1777.
func TestImportDepthAndModes(t *testing.T) {
	testutil.Agent(t)
	work := t.TempDir()
	deep := strings.Repeat("d/", 300) + "f"
	writeFiles(t, work, map[string][]byte{"deep.tar": dockerArchive(t, "deep:1", tarOf(t, []ent{file(deep, "x")}))})
	_, err := importFrom(t, filepath.Join(work, "cache"), filepath.Join(work, "deep.tar"), ociimport.Limits{})
	if err == nil || !strings.Contains(err.Error(), "a path 301 elements deep, deeper than the limit of 256") {
		t.Errorf("deep path: %v", err)
	}

	ww := file("etc/world", "w\n")
	ww.mode = 0o666
	gw := file("etc/group", "g\n")
	gw.mode = 0o775
	wdir := dir("srv")
	wdir.mode = 0o777
	tmp := dir("tmp")
	tmp.mode = 0o1777
	stickyFile := file("etc/sticky", "s\n")
	stickyFile.mode = 0o1666
	writeFiles(t, work, map[string][]byte{"modes.tar": dockerArchive(t, "modes:1", tarOf(t, []ent{dir("etc"), ww, gw, wdir, tmp, stickyFile}))})
	img, err := importFrom(t, filepath.Join(work, "cache"), filepath.Join(work, "modes.tar"), ociimport.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{
		"etc/world": 0o644, "etc/group": 0o755, "etc/sticky": 0o644,
		"srv": fs.ModeDir | 0o755, "tmp": fs.ModeDir | fs.ModeSticky | 0o777,
	} {
		fi, err := os.Lstat(filepath.Join(img.Rootfs, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSticky | fs.ModeSetuid | fs.ModeSetgid); got != want {
			t.Errorf("/%s mode %v, want %v", p, got, want)
		}
	}
	// Nothing in the image is writable by others, but sticky directories.
	filepath.WalkDir(img.Rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		m := fi.Mode()
		if m&fs.ModeSymlink == 0 && m&0o002 != 0 && !(m.IsDir() && m&fs.ModeSticky != 0) {
			t.Errorf("%s is writable by others (%v)", p, m)
		}
		return nil
	})
}

// TestImportFreeSpace asks for more free space than the file system has:
// the import is refused before it starts.
func TestImportFreeSpace(t *testing.T) {
	testutil.Agent(t)
	work := t.TempDir()
	writeFiles(t, work, map[string][]byte{"small.tar": dockerArchive(t, "small:1", tarOf(t, []ent{file("a", "b")}))})
	_, err := importFrom(t, filepath.Join(work, "cache"), filepath.Join(work, "small.tar"), ociimport.Limits{MinFreeSpace: 1 << 60})
	if err == nil || !strings.Contains(err.Error(), "free, of which 1.0 EiB is kept free") {
		t.Errorf("import with an exabyte to keep free: %v", err)
	}
	if left := cachedImages(t, filepath.Join(work, "cache")); len(left) > 0 {
		t.Errorf("the cache keeps %v", left)
	}
}

// TestImportDockerTampered imports a docker archive whose layer is not
// the one its configuration names, and one whose configuration is not the
// one its file name (a digest) says.
func TestImportDockerTampered(t *testing.T) {
	testutil.Agent(t)
	work := t.TempDir()
	genuine := tarOf(t, []ent{file("motd", "genuine\n")})
	tampered := tarOf(t, []ent{file("motd", "tampere\n")})
	cfg := configFor(genuine)
	man, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"t:1"}, "Layers": []string{"layer.tar"}}})
	writeFiles(t, work, map[string][]byte{"layer.tar": tarOf(t, []ent{file("manifest.json", string(man)), file("config.json", string(cfg)), file("layer.tar", string(tampered))})})
	_, err := importFrom(t, filepath.Join(work, "cache"), filepath.Join(work, "layer.tar"), ociimport.Limits{})
	var de *ociimport.DigestError
	if err == nil || !errors.As(err, &de) || de.Name != "layer.tar" || de.Want != sha(genuine) || de.Got != sha(tampered) {
		t.Errorf("tampered docker layer: %v", err)
	}

	cfgName := hexOf(cfg) + ".json"
	badCfg := bytes.Replace(cfg, []byte("/usr/bin"), []byte("/evi/bin"), 1)
	man, _ = json.Marshal([]map[string]any{{"Config": cfgName, "Layers": []string{"layer.tar"}}})
	writeFiles(t, work, map[string][]byte{"config.tar": tarOf(t, []ent{file("manifest.json", string(man)), file(cfgName, string(badCfg)), file("layer.tar", string(genuine))})})
	_, err = importFrom(t, filepath.Join(work, "cache"), filepath.Join(work, "config.tar"), ociimport.Limits{})
	if err == nil || !errors.As(err, &de) || de.What != "the configuration" || de.Want != sha(cfg) || de.Got != sha(badCfg) {
		t.Errorf("tampered docker configuration: %v", err)
	}
	if left := cachedImages(t, filepath.Join(work, "cache")); len(left) > 0 {
		t.Errorf("the cache keeps %v", left)
	}
}

var _ = tar.TypeReg
