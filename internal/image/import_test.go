package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/oci"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/testutil"
)

// tarDir writes a directory tree as an uncompressed tar stream, as a
// layer of an image.
func tarDir(t testing.TB, root string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// busyboxImage makes a real image of the minimal test rootfs (a static
// busybox and its applets) with go-containerregistry, as a user's build
// tool would: one gzip layer, an OCI config for linux/amd64.
func busyboxImage(t *testing.T) v1.Image {
	t.Helper()
	min := testutil.MinimalImage(t)
	// The user's image has no agent: the import adds it.
	if err := os.RemoveAll(filepath.Join(min.Rootfs, ".isobench")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(min.Rootfs, "hello-from-the-image"), []byte("imported\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := tarDir(t, min.Rootfs)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Config.Env = []string{"PATH=/bin"}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestImportSources imports the same image from every kind of source: an
// OCI layout directory, an OCI archive, a docker archive (plain and
// gzip), and a registry (an in-process one, as none is reachable here).
// Each gives the same image, which passes Verify and holds the agent.
func TestImportSources(t *testing.T) {
	agentBin := testutil.Agent(t)
	img := busyboxImage(t)
	work := t.TempDir()

	layoutDir := filepath.Join(work, "layout")
	lp, err := layout.Write(layoutDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	plat := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if err := lp.AppendImage(img, layout.WithPlatform(plat)); err != nil {
		t.Fatal(err)
	}
	// An image of another platform beside it: the import must pick this
	// host's.
	other, err := mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "s390x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(other, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: "s390x"})); err != nil {
		t.Fatal(err)
	}
	ociTar := filepath.Join(work, "image-oci.tar")
	if err := os.WriteFile(ociTar, tarDir(t, layoutDir), 0o644); err != nil {
		t.Fatal(err)
	}
	dockerTar := filepath.Join(work, "image-docker.tar")
	tag, _ := name.NewTag("isobench-test/busybox:1")
	if err := tarball.WriteToFile(dockerTar, tag, img); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(dockerTar)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	dockerTgz := filepath.Join(work, "image-docker.tar.gz")
	if err := os.WriteFile(dockerTgz, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/isobench-test/busybox:1"
	pushRef, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(pushRef, img); err != nil {
		t.Fatal(err)
	}

	var ids []string
	for _, src := range []string{layoutDir, ociTar, dockerTar, dockerTgz, ref} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			got, err := image.Import(context.Background(), image.ImportOptions{
				CacheDir: t.TempDir(), Agent: agentBin, Source: src,
			})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, got.ID)
			if err := image.Verify(got); err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(agentBin)
			have, err := os.ReadFile(filepath.Join(got.Rootfs, image.AgentPath))
			if err != nil || !bytes.Equal(want, have) {
				t.Fatalf("the image's agent is not this isobench's (%v)", err)
			}
			if got.Manifest.ToolPaths["busybox"] != "/bin/busybox" {
				t.Errorf("tool paths %v, want busybox at /bin/busybox", got.Manifest.ToolPaths)
			}
			if !strings.HasPrefix(got.Manifest.Source, src+" (image sha256:") && !strings.HasPrefix(got.Manifest.Source, ref) {
				t.Errorf("manifest source %q does not name %s", got.Manifest.Source, src)
			}
			for _, d := range []string{"proc", "sys", "dev", "tmp", "scratch"} {
				if fi, err := os.Stat(filepath.Join(got.Rootfs, d)); err != nil || !fi.IsDir() {
					t.Errorf("the image lacks /%s (%v)", d, err)
				}
			}
			// Once more: found in the cache.
			again, err := image.Import(context.Background(), image.ImportOptions{
				CacheDir: filepath.Dir(filepath.Dir(got.Dir)), Agent: agentBin, Source: src,
			})
			if err != nil || !again.Reused || again.ID != got.ID {
				t.Errorf("second import: reused %v id %s err %v, want the cached %s", again != nil && again.Reused, idOf(again), err, got.ID)
			}
		})
	}
	// The ID covers the manifest's digest: the layout, the OCI archive
	// and the registry hold the same manifest and give one ID. A docker
	// archive holds no manifest, and its two forms give another.
	if len(ids) == 5 && (ids[0] != ids[1] || ids[0] != ids[4] || ids[2] != ids[3] || ids[0] == ids[2]) {
		t.Errorf("image ids %v: want one for the layout, the OCI archive and the registry, another for both docker archives", ids)
	}
}

func idOf(img *image.Image) string {
	if img == nil {
		return ""
	}
	return img.ID
}

// TestImportedImageRuns starts a real runc sandbox from an imported image
// and runs busybox in it through the agent.
func TestImportedImageRuns(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "runc")
	agentBin := testutil.Agent(t)
	work := t.TempDir()
	dockerTar := filepath.Join(work, "image.tar")
	tag, _ := name.NewTag("isobench-test/busybox:run")
	if err := tarball.WriteToFile(dockerTar, tag, busyboxImage(t)); err != nil {
		t.Fatal(err)
	}
	img, err := image.Import(context.Background(), image.ImportOptions{CacheDir: filepath.Join(work, "cache"), Agent: agentBin, Source: dockerTar})
	if err != nil {
		t.Fatal(err)
	}
	env := driver.Env{StateDir: filepath.Join(work, "state"), RunDir: filepath.Join(work, "run")}
	d, err := oci.New(env, "runc", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Probe(context.Background()); err != nil {
		t.Skipf("runc does not work here: %v", err)
	}
	in, err := d.Create(context.Background(), driver.Spec{ID: fmt.Sprintf("isobench-import-test-%d", os.Getpid()), Image: img})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := in.Close(); err != nil {
			t.Error(err)
		}
	}()
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := in.Exec(context.Background(), []string{"/bin/busybox", "cat", "/hello-from-the-image"}, &out, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "imported\n" {
		t.Fatalf("the sandbox read %q from the image, want the image's file", out.String())
	}
}

// TestImportLayers checks how layers stack: whiteouts and opaque
// directories of the OCI layer format, replacements across layers, hard
// links, absolute symbolic links made relative, and set-ID bits dropped.
func TestImportLayers(t *testing.T) {
	agentBin := testutil.Agent(t)
	suid := file("usr/bin/su", "#!/bin/sh\n")
	suid.mode = 0o4755
	sgid := file("usr/bin/wall", "#!/bin/sh\n")
	sgid.mode = 0o2755
	owned := file("home/user/notes", "mine\n")
	owned.uid, owned.gid = 1000, 1000
	sticky := dir("var/spool")
	sticky.mode = 0o1777
	lower := tarOf(t, []ent{
		dir("etc"), file("etc/keep", "keep\n"), file("etc/gone", "gone\n"),
		dir("opaque"), file("opaque/old", "old\n"), dir("opaque/sub"), file("opaque/sub/deep", "deep\n"),
		dir("usr"), dir("usr/bin"), suid, sgid, dir("home"), dir("home/user"), owned, dir("var"), sticky,
		dir("lib"), file("lib/ld.so", "loader\n"),
		file("replaced", "a file\n"),
		dir("usr/share"), dir("usr/share/zoneinfo"), file("usr/share/zoneinfo/UTC", "TZif\n"),
	})
	upper := tarOf(t, []ent{
		file("etc/.wh.gone", ""),
		dir("opaque"), file("opaque/.wh..wh..opq", ""), file("opaque/new", "new\n"),
		dir("replaced"), file("replaced/inside", "now a directory\n"),
		dir("lib64"), symlink("lib64/ld.so", "/lib/ld.so"),
		symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
		symlink("rootlink", "/"),
		hardlink("etc/keep-again", "etc/keep"),
	})
	work := t.TempDir()
	src := filepath.Join(work, "layers.tar")
	if err := os.WriteFile(src, dockerArchive(t, "isobench-test/layers:1", lower, upper), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := image.Import(context.Background(), image.ImportOptions{CacheDir: filepath.Join(work, "cache"), Agent: agentBin, Source: src, Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	root := img.Rootfs
	exists := func(p string) bool { _, err := os.Lstat(filepath.Join(root, p)); return err == nil }
	for _, c := range []struct {
		path string
		want bool
	}{
		{"etc/keep", true}, {"etc/gone", false},
		{"opaque/old", false}, {"opaque/sub", false}, {"opaque/new", true},
		{"replaced/inside", true},
	} {
		if got := exists(c.path); got != c.want {
			t.Errorf("/%s exists: %v, want %v", c.path, got, c.want)
		}
	}
	for link, want := range map[string]string{"lib64/ld.so": "../lib/ld.so", "etc/localtime": "../usr/share/zoneinfo/UTC", "rootlink": "."} {
		got, err := os.Readlink(filepath.Join(root, link))
		if err != nil || got != want {
			t.Errorf("/%s -> %q (%v), want the absolute target made relative, %q", link, got, err, want)
		}
	}
	b, err := os.ReadFile(filepath.Join(root, "etc/localtime"))
	if err != nil || string(b) != "TZif\n" {
		t.Errorf("/etc/localtime read from the host gives %q (%v), want the image's file", b, err)
	}
	var st1, st2 syscall.Stat_t
	if syscall.Stat(filepath.Join(root, "etc/keep"), &st1) != nil || syscall.Stat(filepath.Join(root, "etc/keep-again"), &st2) != nil || st1.Ino != st2.Ino {
		t.Errorf("etc/keep-again is not a hard link of etc/keep")
	}
	for p, want := range map[string]fs.FileMode{"usr/bin/su": 0o755, "usr/bin/wall": 0o755, "var/spool": 0o777 | fs.ModeSticky | fs.ModeDir} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky | fs.ModeDir); got != want {
			t.Errorf("/%s mode %v, want %v (set-ID bits dropped, sticky kept)", p, got, want)
		}
	}
	if os.Geteuid() == 0 {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(root, "home/user/notes"), &st); err != nil || st.Uid != 1000 || st.Gid != 1000 {
			t.Errorf("/home/user/notes owned by %d:%d (%v), want the image's 1000:1000", st.Uid, st.Gid, err)
		}
	}
}

// TestImportRefuses covers sources that are not images at all, and
// images this host cannot run.
func TestImportRefuses(t *testing.T) {
	agentBin := testutil.Agent(t)
	work := t.TempDir()
	arm := filepath.Join(work, "arm.tar")
	layer := tarOf(t, []ent{file("x", "y")})
	b := dockerArchive(t, "isobench-test/arm:1", layer)
	b = bytes.Replace(b, []byte(`"architecture":"amd64"`), []byte(`"architecture":"arm64"`), 1)
	// The config's name in manifest.json is not its digest here, so the
	// edit keeps the archive readable.
	if err := os.WriteFile(arm, b, 0o644); err != nil {
		t.Fatal(err)
	}
	notImage := filepath.Join(work, "notes.tar")
	if err := os.WriteFile(notImage, tarOf(t, []ent{file("README", "hi")}), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, want string }{
		{arm, "the image is for linux/arm64; this host runs linux/amd64"},
		{notImage, "holds neither a docker archive (manifest.json) nor an OCI image layout (oci-layout, index.json)"},
		{filepath.Join(work, "missing.tar"), "no such file or directory"},
		{work, "is not an OCI image layout (no oci-layout file)"},
		{"Not A Reference!", "not a file, a directory or an image reference"},
	} {
		_, err := image.Import(context.Background(), image.ImportOptions{CacheDir: filepath.Join(work, "cache"), Agent: agentBin, Source: c.src, Platform: "linux/amd64"})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.src) {
			t.Errorf("import %s: error %v, want one naming it and saying %q", c.src, err, c.want)
		}
	}
}
