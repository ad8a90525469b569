package incus

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver/lxc/sysinit"
	"github.com/isobench/isobench/internal/image"
)

// incusArch is the architecture name Incus uses for this program's.
func incusArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	case "ppc64le":
		return "ppc64le"
	case "s390x":
		return "s390x"
	case "riscv64":
		return "riscv64"
	}
	return runtime.GOARCH
}

// imageAlias is the alias under which an image is cached in Incus.
func imageAlias(img *image.Image) string {
	id := img.ID
	var b strings.Builder
	for _, c := range id {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 64 {
		s = s[:64]
	}
	return "isobench-" + s
}

// metadataYAML is an image's metadata.yaml: what Incus needs (architecture,
// creation date) and properties naming the isobench image.
func metadataYAML(img *image.Image, now time.Time) []byte {
	return []byte(fmt.Sprintf("architecture: %q\ncreation_date: %d\nproperties:\n  os: \"isobench\"\n  description: %q\n  isobench.image: %q\n",
		incusArch(), now.Unix(), "isobench workload image "+img.ID, img.ID))
}

// writeImageTar writes a unified Incus image to w: metadata.yaml, then the
// image's root filesystem under rootfs/ with the init layer of sysinit
// (and the directories it needs) added. Owners, modes, times and symlinks
// are kept; devices, sockets and fifos are left out.
func writeImageTar(w io.Writer, img *image.Image, meta []byte, layer []sysinit.File) error {
	tw := tar.NewWriter(w)
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Name: "metadata.yaml", Mode: 0o644, Size: int64(len(meta)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(meta); err != nil {
		return err
	}
	dirs := map[string]bool{}
	err := filepath.WalkDir(img.Rootfs, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(img.Rootfs, p)
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		var link string
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.IsDir(), fi.Mode().IsRegular():
		default:
			return nil
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		name := path.Join("rootfs", filepath.ToSlash(rel))
		if fi.IsDir() {
			name += "/"
			dirs["/"+filepath.ToSlash(rel)] = true
		}
		h.Name = name
		h.Uname, h.Gname = "", ""
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			h.Uid, h.Gid = int(st.Uid), int(st.Gid)
		}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("packing the image's root filesystem: %w", err)
	}
	for _, f := range layer {
		var missing []string
		for d := path.Dir(f.Path); d != "/" && !dirs[d]; d = path.Dir(d) {
			missing = append([]string{d}, missing...)
		}
		for _, d := range missing {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Name: "rootfs" + d + "/", Mode: 0o755, ModTime: now, Typeflag: tar.TypeDir}); err != nil {
				return err
			}
		}
		h := &tar.Header{Name: "rootfs" + f.Path, Mode: int64(f.Mode.Perm()), ModTime: now}
		if f.Mode&fs.ModeSymlink != 0 {
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// importImage uploads a unified image tarball, streamed from write, and
// gives it alias; it returns the image's fingerprint.
func importImage(ctx context.Context, c *client, alias string, write func(io.Writer) error) (string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Incus-public", "false")
	env, err := c.send(ctx, http.MethodPost, apiPath("images"), nil, h, pr, nil)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return "", fmt.Errorf("importing image %s: %w", alias, err)
	}
	id, err := operationID(env)
	if err != nil {
		return "", err
	}
	op, err := c.wait(ctx, id)
	if err != nil {
		return "", fmt.Errorf("importing image %s: %w", alias, err)
	}
	var fp string
	if raw, ok := op.Metadata["fingerprint"]; ok {
		fp = strings.Trim(string(raw), `"`)
	}
	if fp == "" {
		return "", fmt.Errorf("importing image %s: the daemon gave no fingerprint", alias)
	}
	body := map[string]string{"name": alias, "target": fp, "description": "isobench workload image"}
	if _, err := c.do(ctx, http.MethodPost, apiPath("images", "aliases"), nil, body); err != nil {
		return "", fmt.Errorf("naming image %s: %w", fp, err)
	}
	return fp, nil
}

// lookupAlias returns the fingerprint an alias names, or "" when none.
func lookupAlias(ctx context.Context, c *client, alias string) (string, error) {
	var a struct {
		Target string `json:"target"`
	}
	err := c.get(ctx, apiPath("images", "aliases", alias), nil, &a)
	if isNotFound(err) {
		return "", nil
	}
	return a.Target, err
}
