package engine

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/isobench/isobench/internal/image"
)

// Image references. Both live under the "localhost" domain, so that no
// engine ever tries to pull them from a registry.
const (
	workloadRepo = "localhost/isobench-workload"
	probeRepo    = "localhost/isobench-probe"
)

// Labels on everything the drivers make in an engine.
const (
	labelManaged     = "isobench.managed" // "true" on every image, container and volume
	labelKind        = "isobench.kind"    // kindWorkload, kindProbe, kindSandbox, kindScratch
	labelID          = "isobench.id"      // the sandbox id
	labelOwner       = "isobench.owner"   // PID:START of the isobench process
	labelDriver      = "isobench.driver"  // token of the driver value
	labelRuntime     = "isobench.runtime" // the runtime's name, e.g. docker:runsc
	labelImageID     = "isobench.image.id"
	labelImageRootfs = "isobench.image.rootfs"

	kindWorkload = "workload-image"
	kindProbe    = "probe-image"
	kindSandbox  = "sandbox"
	kindScratch  = "scratch"
)

// defaultPath is the PATH of every sandbox, as the direct drivers set it.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ensureImage makes sure the engine holds the workload image and returns
// its reference. The tag is the image's content id and a fingerprint of
// its root filesystem as it is on disk (names, modes, sizes, times), so
// that an image whose files changed under the same id is imported anew; an
// image already imported is reused.
func (d *Driver) ensureImage(ctx context.Context, c *conn, img *image.Image) (string, error) {
	key := img.ID + "\x00" + img.Rootfs
	d.mu.Lock()
	ref, ok := d.images[key]
	d.mu.Unlock()
	if ok {
		return ref, nil
	}
	fp, err := fingerprint(img.Rootfs)
	if err != nil {
		return "", fmt.Errorf("reading the image %s: %w", img.Rootfs, err)
	}
	ref = workloadRepo + ":" + imageTag(img.ID, fp)
	labels := map[string]string{
		labelManaged: "true", labelKind: kindWorkload,
		labelImageID: img.ID, labelImageRootfs: img.Rootfs,
	}
	err = d.importOnce(ctx, c, ref, labels, "isobench workload image "+img.ID, func(w io.Writer) error {
		return image.WriteRootfsTar(ctx, w, img.Rootfs)
	})
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	d.images[key] = ref
	d.mu.Unlock()
	return ref, nil
}

// importOnce imports a root filesystem tar stream under ref unless the
// engine has it, holding the engine's import lock so that concurrent
// drivers import it once.
func (d *Driver) importOnce(ctx context.Context, c *conn, ref string, labels map[string]string, message string, write func(io.Writer) error) error {
	if has, err := hasImage(ctx, c, ref); err != nil || has {
		return err
	}
	unlock, err := lockFile(ctx, d.l.importLock)
	if err != nil {
		return err
	}
	defer unlock()
	if has, err := hasImage(ctx, c, ref); err != nil || has {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	defer pr.Close()
	changes := []string{"ENV " + defaultPath}
	for _, k := range sortedKeys(labels) {
		changes = append(changes, "LABEL "+k+"="+dockerfileQuote(labels[k]))
	}
	rc, err := c.cli.ImageImport(ctx, client.ImageImportSource{Source: pr, SourceName: "-"}, ref, client.ImageImportOptions{Changes: changes, Message: message})
	if err != nil {
		return fmt.Errorf("importing %s into %s: %w", ref, d.eng.title, err)
	}
	defer rc.Close()
	if err := readStream(rc); err != nil {
		return fmt.Errorf("importing %s into %s: %w", ref, d.eng.title, err)
	}
	has, err := hasImage(ctx, c, ref)
	if err != nil {
		return err
	}
	if !has {
		return fmt.Errorf("importing %s into %s: the engine reported no error but does not have the image", ref, d.eng.title)
	}
	return nil
}

// hasImage reports whether the engine has ref, made by isobench.
func hasImage(ctx context.Context, c *conn, ref string) (bool, error) {
	res, err := c.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for image %s: %w", ref, err)
	}
	var labels map[string]string
	if res.Config != nil {
		labels = res.Config.Labels
	}
	if labels[labelManaged] != "true" {
		return false, fmt.Errorf("image %s exists but was not made by isobench (no %s label); remove or rename it", ref, labelManaged)
	}
	return true, nil
}

// readStream reads a JSON message stream to its end, returning the first
// error message in it.
func readStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the engine's answer: %w", err)
		}
		if m.Error != nil && m.Error.Message != "" {
			return errors.New(m.Error.Message)
		}
	}
}

// imageTag makes a tag of an image id and a fingerprint: the id's
// characters a tag allows, at most 64 of them, then 12 of the fingerprint.
func imageTag(id, fp string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if b.Len() >= 64 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			b.WriteRune(r)
		}
	}
	s := strings.TrimLeft(b.String(), ".-")
	if s == "" {
		s = "image"
	}
	return s + "-" + fp[:12]
}

// dockerfileQuote quotes a LABEL value as the Dockerfile syntax of image
// import changes reads it.
func dockerfileQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fingerprint digests what a tree is on disk: each path's name, type,
// mode, size, modification time and symlink target, in walk order.
func fingerprint(root string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		target := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ = os.Readlink(p)
		}
		fmt.Fprintf(h, "%q %o %d %d %q\n", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), target)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// probeBusybox is the static busybox the test container of Probe runs.
const probeBusybox = "/bin/busybox"

// ensureProbeImage makes sure the engine holds the probe image: a static
// busybox alone, tagged by its digest.
func (d *Driver) ensureProbeImage(ctx context.Context, c *conn) (string, error) {
	b, err := os.ReadFile(probeBusybox)
	if err != nil {
		return "", fmt.Errorf("the test container needs a static busybox at %s (isobench setup installs busybox-static): %w", probeBusybox, err)
	}
	if err := checkStatic(probeBusybox); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	ref := probeRepo + ":" + hex.EncodeToString(sum[:8])
	d.mu.Lock()
	_, ok := d.images[ref]
	d.mu.Unlock()
	if ok {
		return ref, nil
	}
	labels := map[string]string{labelManaged: "true", labelKind: kindProbe}
	err = d.importOnce(ctx, c, ref, labels, "isobench probe image", func(w io.Writer) error {
		tw := tar.NewWriter(w)
		now := time.Now()
		for _, dir := range []string{"bin/", "dev/", "proc/", "sys/", "tmp/"} {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: now}); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(b)), ModTime: now}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
		return tw.Close()
	})
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	d.images[ref] = ref
	d.mu.Unlock()
	return ref, nil
}

// checkStatic says whether a file is a statically linked ELF executable.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; the test container needs a static busybox (isobench setup installs busybox-static)", path)
		}
	}
	return nil
}
