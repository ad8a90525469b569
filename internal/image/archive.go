package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ArchiveConfig is the runtime configuration an exported image carries.
type ArchiveConfig struct {
	// Entrypoint is what a container of the image runs; nil means the
	// agent in init mode.
	Entrypoint []string
	// Env holds KEY=VALUE entries; nil means a PATH of the usual
	// directories.
	Env []string
}

// WriteArchive writes img as a one-layer docker-archive (the format of
// `docker save`, which `docker load`, `ctr images import` and kind's
// `load image-archive` read) tagged ref, for engines and clusters that
// take images rather than root filesystems. The layer holds the root
// filesystem as WriteRootfsTar writes it. Temporary files go to tmpDir
// ("" for the system's) and are removed before it returns.
func WriteArchive(ctx context.Context, w io.Writer, img *Image, ref string, cfg ArchiveConfig, tmpDir string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	f, err := os.CreateTemp(tmpDir, "isobench-layer-*.tar")
	if err != nil {
		return fmt.Errorf("exporting image %s: %w", img.ID, err)
	}
	defer os.Remove(f.Name())
	werr := WriteRootfsTar(ctx, f, img.Rootfs)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("exporting image %s: %w", img.ID, werr)
	}
	layer, err := tarball.LayerFromFile(f.Name(), tarball.WithCompressedCaching)
	if err != nil {
		return fmt.Errorf("exporting image %s: layer: %w", img.ID, err)
	}
	out, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("exporting image %s: %w", img.ID, err)
	}
	if cfg.Entrypoint == nil {
		cfg.Entrypoint = []string{AgentPath, "init"}
	}
	if cfg.Env == nil {
		cfg.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	cf, err := out.ConfigFile()
	if err != nil {
		return fmt.Errorf("exporting image %s: %w", img.ID, err)
	}
	cf = cf.DeepCopy()
	// Images are built from this machine's files, or imported for its
	// platform.
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	cf.Config.Entrypoint, cf.Config.Env = cfg.Entrypoint, cfg.Env
	cf.Config.Labels = map[string]string{"isobench.image.id": img.ID}
	if out, err = mutate.ConfigFile(out, cf); err != nil {
		return fmt.Errorf("exporting image %s: %w", img.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tarball.Write(tag, out, w); err != nil {
		return fmt.Errorf("exporting image %s: writing the archive: %w", img.ID, err)
	}
	return nil
}

// WriteRootfsTar writes the directory tree at rootfs as a tar stream of a
// root filesystem: paths relative to rootfs, numeric owners and modes kept,
// hard links as links, sockets left out.
func WriteRootfsTar(ctx context.Context, w io.Writer, rootfs string) error {
	tw := tar.NewWriter(w)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	err := filepath.WalkDir(rootfs, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(rootfs, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSocket != 0 {
			return nil
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Uname, hdr.Gname = "", ""
		hdr.Format = tar.FormatPAX
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() && st.Nlink > 1 {
			k := inode{uint64(st.Dev), st.Ino}
			if first, ok := seen[k]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				seen[k] = hdr.Name
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(tw, f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if n != hdr.Size {
			return fmt.Errorf("%s: changed while being read (%d bytes, expected %d)", p, n, hdr.Size)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
