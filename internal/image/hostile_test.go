package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/image/ociimport"
	"github.com/isobench/isobench/internal/testutil"
)

// The hostile images of testdata/hostile are made by hostileCases below;
// `go test -run TestHostileImages -update-hostile` writes them again. Each
// is a docker-archive (or, for the archive-level cases, an OCI archive)
// holding one trick, and importing it must fail with exactly the error the
// case names, leaving nothing outside the cache.

var updateHostile = flag.Bool("update-hostile", false, "rewrite testdata/hostile from the generator")

// ent is one tar entry of a generated layer.
type ent struct {
	name string
	typ  byte
	body string
	link string
	mode int64
	// size, when set, is the size the header claims, with no body: an
	// entry that announces more than it holds.
	size         int64
	major, minor int64
	uid, gid     int
	pax          bool
}

func file(name, body string) ent { return ent{name: name, typ: tar.TypeReg, body: body, mode: 0o644} }
func dir(name string) ent        { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, target string) ent {
	return ent{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}
func hardlink(name, target string) ent {
	return ent{name: name, typ: tar.TypeLink, link: target, mode: 0o644}
}

// tarOf writes entries as a tar stream with fixed times and owners, so the
// bytes only change when the cases do.
func tarOf(t testing.TB, ents []ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		hdr := &tar.Header{
			Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode,
			Size: int64(len(e.body)), Uid: e.uid, Gid: e.gid,
			Devmajor: e.major, Devminor: e.minor,
			ModTime: time.Unix(1700000000, 0).UTC(), Format: tar.FormatPAX,
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if e.size > 0 {
			// Claim a size with no body behind it: the importer must
			// refuse on the header alone. The stream ends there.
			hdr.Size = e.size
			if err := tw.WriteHeader(hdr); err != nil {
				t.Fatal(err)
			}
			buf.Write(make([]byte, 1024))
			return buf.Bytes()
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// dockerArchive lays layers out as `docker save` does: manifest.json, the
// config and one uncompressed tar per layer.
func dockerArchive(t testing.TB, tag string, layers ...[]byte) []byte {
	t.Helper()
	var diffIDs, names []string
	files := []ent{}
	for i, l := range layers {
		diffIDs = append(diffIDs, sha(l))
		n := fmt.Sprintf("layer%d.tar", i)
		names = append(names, n)
		files = append(files, file(n, string(l)))
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	man, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{tag}, "Layers": names}})
	return tarOf(t, append([]ent{file("manifest.json", string(man)), file("config.json", string(cfg))}, files...))
}

// ociArchive is a tar of an OCI image layout, with extra raw entries.
func ociArchive(t testing.TB, extra ...ent) []byte {
	t.Helper()
	layer := tarOf(t, []ent{file("hello", "hi\n")})
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{sha(layer)}},
	})
	man, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
		"layers": []map[string]any{{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer), "size": len(layer)}},
	})
	idx, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []map[string]any{{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man), "size": len(man)}},
	})
	blob := func(b []byte) ent { return file("blobs/sha256/"+strings.TrimPrefix(sha(b), "sha256:"), string(b)) }
	ents := []ent{file("oci-layout", `{"imageLayoutVersion":"1.0.0"}`), file("index.json", string(idx)), dir("blobs"), dir("blobs/sha256"), blob(cfg), blob(man), blob(layer)}
	return tarOf(t, append(ents, extra...))
}

// hostileCase is one hostile image and the exact error its import gives.
type hostileCase struct {
	name   string
	doc    string
	limits ociimport.Limits
	make   func(t testing.TB) []byte
	// want is the error's text after "import image FILE: ".
	want string
}

func layerArchive(ents ...ent) func(t testing.TB) []byte {
	return func(t testing.TB) []byte { return dockerArchive(t, "hostile:latest", tarOf(t, ents)) }
}

func hostileCases() []hostileCase {
	long := strings.Repeat("d/", 2100) + "f"
	return []hostileCase{
		{name: "dotdot", doc: "an entry that climbs out of the root",
			make: layerArchive(file("../../../../tmp/isobench-pwned", "x")),
			want: `layer 1 of 1 (LAYER): entry "../../../../tmp/isobench-pwned": path traversal: a ".." element could leave the image`},
		{name: "dotdot-inner", doc: "a climb hidden in the middle of a path",
			make: layerArchive(dir("usr"), file("usr/../../etc/isobench-pwned", "x")),
			want: `layer 1 of 1 (LAYER): entry "usr/../../etc/isobench-pwned": path traversal: a ".." element could leave the image`},
		{name: "absolute-name", doc: "an entry named by an absolute path",
			make: layerArchive(file("/etc/isobench-pwned", "x")),
			want: `layer 1 of 1 (LAYER): entry "/etc/isobench-pwned": absolute path: entries of a layer are relative to its root`},
		{name: "symlink-escape", doc: "a symbolic link out of the image",
			make: layerArchive(symlink("shadow", "../../../../etc/shadow")),
			want: `layer 1 of 1 (LAYER): entry "shadow": symbolic link to "../../../../etc/shadow" escapes the image (it climbs 4 directories from /, which is 0 deep)`},
		{name: "symlink-escape-nested", doc: "a nested symbolic link that climbs one directory too many",
			make: layerArchive(dir("usr"), dir("usr/lib"), symlink("usr/lib/etc", "../../../etc")),
			want: `layer 1 of 1 (LAYER): entry "usr/lib/etc": symbolic link to "../../../etc" escapes the image (it climbs 3 directories from /usr/lib, which is 2 deep)`},
		{name: "symlink-write-through", doc: "a link to the host's /etc, then a file written through it",
			make: layerArchive(dir("etc"), symlink("hostetc", "/etc"), file("hostetc/cron.d/isobench-pwned", "* * * * * root id\n")),
			want: `layer 1 of 1 (LAYER): entry "hostetc/cron.d/isobench-pwned": its parent hostetc is a symbolic link (to "etc"): entries are never written through links`},
		{name: "symlink-write-through-layers", doc: "a link to / in one layer, a file through it in the next",
			make: func(t testing.TB) []byte {
				return dockerArchive(t, "hostile:latest", tarOf(t, []ent{symlink("root", "/")}), tarOf(t, []ent{file("root/etc/passwd", "pwned\n")}))
			},
			want: `layer 2 of 2 (LAYER): entry "root/etc/passwd": its parent root is a symbolic link (to "."): entries are never written through links`},
		{name: "hardlink-escape", doc: "a hard link to a host file by climbing",
			make: layerArchive(hardlink("shadow", "../../etc/shadow")),
			want: `layer 1 of 1 (LAYER): entry "shadow": hard link to "../../etc/shadow": path traversal: a ".." element could leave the image`},
		{name: "hardlink-absolute", doc: "a hard link to a host file by absolute path",
			make: layerArchive(hardlink("shadow", "/etc/shadow")),
			want: `layer 1 of 1 (LAYER): entry "shadow": hard link to "/etc/shadow": absolute path: entries of a layer are relative to its root`},
		{name: "hardlink-through-symlink", doc: "a hard link through a link to the host's /etc",
			make: layerArchive(dir("etc"), symlink("hostetc", "/etc"), hardlink("shadow", "hostetc/shadow")),
			want: `layer 1 of 1 (LAYER): entry "shadow": hard link to "hostetc/shadow": its parent hostetc is a symbolic link (to "etc"): entries are never written through links`},
		{name: "hardlink-missing", doc: "a hard link to nothing the image has",
			make: layerArchive(dir("etc"), hardlink("shadow", "etc/shadow")),
			want: `layer 1 of 1 (LAYER): entry "shadow": hard link to "etc/shadow": no such file in the image (a link must follow its target)`},
		{name: "hardlink-to-directory", doc: "a hard link to a directory",
			make: layerArchive(dir("etc"), hardlink("etc2", "etc")),
			want: `layer 1 of 1 (LAYER): entry "etc2": hard link to "etc", a directory: only regular files may be linked`},
		{name: "device-char", doc: "a character device (a second /dev/mem)",
			make: layerArchive(dir("dev"), ent{name: "dev/mem", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 1}),
			want: `layer 1 of 1 (LAYER): entry "dev/mem": device node (1, 1): a workload image holds no devices; the runtime provides them`},
		{name: "device-block", doc: "a block device (the host's first disk)",
			make: layerArchive(ent{name: "sda", typ: tar.TypeBlock, mode: 0o666, major: 8, minor: 0}),
			want: `layer 1 of 1 (LAYER): entry "sda": device node (8, 0): a workload image holds no devices; the runtime provides them`},
		{name: "fifo", doc: "a named pipe",
			make: layerArchive(ent{name: "pipe", typ: tar.TypeFifo, mode: 0o644}),
			want: `layer 1 of 1 (LAYER): entry "pipe": named pipe: a workload image holds none`},
		{name: "oversized-entry", doc: "a file that claims a terabyte",
			make: layerArchive(ent{name: "big", typ: tar.TypeReg, mode: 0o644, size: 1 << 40}),
			want: `layer 1 of 1 (LAYER): entry "big": file of 1099511627776 bytes, over the limit of 8589934592 bytes for one file`},
		{name: "oversized-total", doc: "files that add up to more than the limit (64 KiB here)",
			limits: ociimport.Limits{MaxTotalSize: 64 << 10},
			make:   layerArchive(file("a", strings.Repeat("a", 40<<10)), file("b", strings.Repeat("b", 40<<10))),
			want:   `layer 1 of 1 (LAYER): entry "b": with this file of 40960 bytes the image would exceed its limit of 65536 bytes in all`},
		{name: "too-many-entries", doc: "more entries than the limit (4 here)",
			limits: ociimport.Limits{MaxEntries: 4},
			make:   layerArchive(file("1", ""), file("2", ""), file("3", ""), file("4", ""), file("5", "")),
			want:   `layer 1 of 1 (LAYER): entry "5": the image has more than 4 entries`},
		{name: "file-under-file", doc: "a file inside a regular file",
			make: layerArchive(file("f", "x"), file("f/x", "y")),
			want: `layer 1 of 1 (LAYER): entry "f/x": its parent f is a regular file, not a directory`},
		{name: "long-name", doc: "a name longer than any path",
			make: layerArchive(file(long, "x")),
			want: fmt.Sprintf(`layer 1 of 1 (LAYER): entry %q: name longer than 4096 bytes`, long)},
		{name: "whiteout-dot", doc: "a whiteout of the directory itself",
			make: layerArchive(dir("a"), file("a/.wh..", "")),
			want: `layer 1 of 1 (LAYER): entry "a/.wh..": whiteout of ".": not a name`},
		{name: "whiteout-traversal", doc: "a whiteout above the root",
			make: layerArchive(file("../.wh.etc", "")),
			want: `layer 1 of 1 (LAYER): entry "../.wh.etc": path traversal: a ".." element could leave the image`},
		{name: "oci-blob-traversal", doc: "an OCI archive whose blob entry climbs out",
			make: func(t testing.TB) []byte {
				return ociArchive(t, file("blobs/sha256/../../../../tmp/isobench-pwned", "x"))
			},
			want: `OCI archive entry "blobs/sha256/../../../../tmp/isobench-pwned": not a file of an OCI image layout (oci-layout, index.json, blobs/ALGORITHM/DIGEST)`},
		{name: "oci-symlink-blob", doc: "an OCI archive whose blob is a link to a host file",
			make: func(t testing.TB) []byte {
				return ociArchive(t, symlink("blobs/sha256/0000000000000000000000000000000000000000000000000000000000000000", "/etc/shadow"))
			},
			want: `OCI archive entry "blobs/sha256/0000000000000000000000000000000000000000000000000000000000000000": a symbolic link where the layout has a regular file`},
		{name: "oci-extra-file", doc: "an OCI archive with a file the layout does not have",
			make: func(t testing.TB) []byte { return ociArchive(t, file("etc/cron.d/isobench-pwned", "x")) },
			want: `OCI archive entry "etc/cron.d/isobench-pwned": not a file of an OCI image layout (oci-layout, index.json, blobs/ALGORITHM/DIGEST)`},
	}
}

func hostileFile(c hostileCase) string { return filepath.Join("testdata", "hostile", c.name+".tar") }

// TestHostileImagesGenerated keeps testdata/hostile the generator's output.
func TestHostileImagesGenerated(t *testing.T) {
	cases := hostileCases()
	if *updateHostile {
		if err := os.MkdirAll(filepath.Join("testdata", "hostile"), 0o755); err != nil {
			t.Fatal(err)
		}
		var readme strings.Builder
		readme.WriteString("Hostile images, one trick each, made by hostileCases in ../../hostile_test.go\n(go test -run TestHostileImagesGenerated -update-hostile). Each must be refused\nby image.Import with the error the case names.\n\n")
		for _, c := range cases {
			if err := os.WriteFile(hostileFile(c), c.make(t), 0o644); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&readme, "%-30s %s\n", c.name+".tar", c.doc)
		}
		if err := os.WriteFile(filepath.Join("testdata", "hostile", "README"), []byte(readme.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		got, err := os.ReadFile(hostileFile(c))
		if err != nil {
			t.Fatalf("%v (make them with -update-hostile)", err)
		}
		if !bytes.Equal(got, c.make(t)) {
			t.Errorf("%s differs from what the generator makes: run the test with -update-hostile", hostileFile(c))
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*.tar"))
	if len(files) != len(cases) {
		t.Errorf("testdata/hostile holds %d archives, the generator makes %d", len(files), len(cases))
	}
}

// layerDigest finds the short digest the error names for the layer.
var layerRef = "LAYER"

// TestHostileImages imports every hostile image and checks its error,
// word for word, and that nothing was written outside the cache.
func TestHostileImages(t *testing.T) {
	agentBin := testutil.Agent(t)
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			cache := t.TempDir()
			src, err := filepath.Abs(hostileFile(c))
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, filepath.Dir(cache))
			img, err := image.Import(context.Background(), image.ImportOptions{
				CacheDir: cache, Agent: agentBin, Source: src, Platform: "linux/amd64", Limits: c.limits,
			})
			if err == nil {
				t.Fatalf("imported %s: %+v", c.name, img)
			}
			msg := err.Error()
			prefix := "import image " + src + ": "
			if !strings.HasPrefix(msg, prefix) {
				t.Fatalf("error %q does not start with %q", msg, prefix)
			}
			got := strings.TrimPrefix(msg, prefix)
			want := c.want
			if i := strings.Index(want, layerRef); i >= 0 {
				// The digest is the image's own; take it from the error,
				// checking its form.
				j := strings.Index(got[i:], ")")
				if j < 0 || !strings.HasPrefix(got[i:], "sha256:") || j != len("sha256:")+12 {
					t.Fatalf("error %q: want a short layer digest where %q has LAYER", got, want)
				}
				want = want[:i] + got[i:i+j] + want[i+len(layerRef):]
				var ue *ociimport.UnpackError
				if !errors.As(err, &ue) {
					t.Errorf("error %T does not hold an *ociimport.UnpackError", err)
				}
			}
			if got != want {
				t.Errorf("error:\n  %s\nwant:\n  %s", got, want)
			}
			// Nothing outside the cache changed, and the cache holds no
			// half-imported image.
			if after := snapshot(t, filepath.Dir(cache)); after != before {
				t.Errorf("the directory around the cache changed:\nbefore %s\nafter  %s", before, after)
			}
			ents, _ := os.ReadDir(filepath.Join(cache, "images"))
			for _, e := range ents {
				if e.Name() != ".lock" {
					t.Errorf("the cache keeps %s after a refused import", e.Name())
				}
			}
			if _, err := os.Stat("/tmp/isobench-pwned"); err == nil {
				t.Errorf("/tmp/isobench-pwned exists")
			}
		})
	}
}

// snapshot names the entries directly in dir other than cache itself.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.Contains(p, string(filepath.Separator)+"images") || strings.HasSuffix(p, "images") {
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		names = append(names, p)
		return nil
	})
	return strings.Join(names, ",")
}
