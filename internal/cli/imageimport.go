package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	humanize "github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/image/ociimport"
)

func (a *app) imageImportCommand() *cobra.Command {
	var agentFlag, platform string
	var force bool
	var lim imageLimitFlags
	cmd := &cobra.Command{
		Use:   "import IMAGE",
		Short: "Import a user's image as the workload image (what run --image does)",
		Long: `Import an image to run the workloads from: an OCI image layout directory, a
tar file holding an OCI image layout or a docker archive (docker save; plain
or gzip), or a registry reference (anonymous pulls only). Every blob is
checked against its digest (the manifest against the index, the configuration
and the layers against the manifest, each layer's content against the
configuration's diff_ids) and an image that does not match is refused, naming
the blob and both digests; nothing of it is kept. The layers are unpacked
safely into the cache: entries that climb out of the image, links that point
out of it or are written through, hard links to files outside it, device nodes,
paths deeper than 256 elements and oversized files are refused, naming the
entry; no file is left writable by other users. Named pipes, devices and
symbolic links are refused where the image's files are expected. The isobench
agent is added, and the image is checked to be self-contained. The image
must hold the workloads' tools (sysbench, fio) for the workloads to run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			limits, err := lim.limits()
			if err != nil {
				return withStatus(ExitUsage, err)
			}
			img, err := a.importImageLimited(cmd.Context(), args[0], agentFlag, platform, force, limits, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			printImage(cmd.OutOrStdout(), img)
			fmt.Fprintf(cmd.OutOrStdout(), "source %s\n", img.Manifest.Source)
			return nil
		},
	}
	cmd.Flags().StringVar(&agentFlag, "agent", "", "path of the static isobench-agent binary (default: beside isobench)")
	cmd.Flags().StringVar(&platform, "platform", "", "platform to take from a multi-platform image, os/arch (default: this host's)")
	cmd.Flags().BoolVar(&force, "force", false, "import again even if the cache holds the image")
	addImageLimitFlags(cmd.Flags(), &lim, "")
	return cmd
}

// maxImageEntries bounds --max-entries: ten times the default, beyond any
// real image, so that a typo cannot let an import make files until the
// cache's inodes run out.
const maxImageEntries = 10_000_000

// imageLimitFlags are the flags that bound an imported image (image import,
// and run --image with the prefix "image-").
type imageLimitFlags struct {
	maxFile, maxImage, minFree string
	maxEntries                 int
}

// addImageLimitFlags adds --PREFIXmax-file-size, --PREFIXmax-image-size,
// --PREFIXmax-entries and --PREFIXmin-free-space to fl.
func addImageLimitFlags(fl *pflag.FlagSet, f *imageLimitFlags, prefix string) {
	fl.StringVar(&f.maxFile, prefix+"max-file-size", humanize.IBytes(ociimport.DefaultMaxEntrySize), "largest file an imported image may hold (bytes, or a size such as 512MiB or 8GiB)")
	fl.StringVar(&f.maxImage, prefix+"max-image-size", humanize.IBytes(ociimport.DefaultMaxTotalSize), "most bytes the files of an imported image may add up to")
	fl.Var(newIntFlag(&f.maxEntries, ociimport.DefaultMaxEntries, 1, maxImageEntries), prefix+"max-entries", fmt.Sprintf("most files, directories and links an imported image may hold (1 to %d)", maxImageEntries))
	fl.StringVar(&f.minFree, prefix+"min-free-space", humanize.IBytes(ociimport.DefaultMinFreeSpace), "free space an import leaves on the cache's file system: an image that does not fit above it is refused")
}

// limits parses the flags.
func (f imageLimitFlags) limits() (ociimport.Limits, error) {
	var lim ociimport.Limits
	for _, s := range []struct {
		name, v string
		dst     *int64
	}{{"max-file-size", f.maxFile, &lim.MaxEntrySize}, {"max-image-size", f.maxImage, &lim.MaxTotalSize}, {"min-free-space", f.minFree, &lim.MinFreeSpace}} {
		if s.v == "" {
			continue
		}
		b, err := humanize.ParseBytes(s.v)
		if err != nil || b == 0 || b > 1<<62 {
			return lim, fmt.Errorf("--%s %q: want a size such as 512MiB or 8GiB", s.name, s.v)
		}
		*s.dst = int64(b)
	}
	lim.MaxEntries = f.maxEntries
	return lim, nil
}

// importImage imports a user's image into the cache, with the default
// limits.
func (a *app) importImage(ctx context.Context, src, agentFlag, platform string, force bool, log io.Writer) (*image.Image, error) {
	return a.importImageLimited(ctx, src, agentFlag, platform, force, ociimport.Limits{}, log)
}

// importImageLimited imports a user's image into the cache within limits.
func (a *app) importImageLimited(ctx context.Context, src, agentFlag, platform string, force bool, limits ociimport.Limits, log io.Writer) (*image.Image, error) {
	agentBin, err := a.agentPath(agentFlag)
	if err != nil {
		return nil, err
	}
	cache, err := a.cache()
	if err != nil {
		return nil, err
	}
	return image.Import(ctx, image.ImportOptions{CacheDir: absPath(cache), Agent: absPath(agentBin), Source: src, Platform: platform, Force: force, Limits: limits, Log: log})
}

// absPath makes a path given on the command line absolute; it is left as
// it is when that fails, and the error comes from its use.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// workloadImage is the image a run uses: the user's (--image), imported,
// or the one built from this host's tools.
func (a *app) workloadImage(ctx context.Context, src, agentFlag string, log io.Writer) (*image.Image, error) {
	if src == "" {
		return a.buildImage(ctx, agentFlag, false, log)
	}
	img, err := a.importImage(ctx, src, agentFlag, "", false, log)
	if err != nil {
		return nil, fmt.Errorf("--image: %w", err)
	}
	return img, nil
}

// heldWorkloadImage is workloadImage with the --image limits, and holds
// the image (image.Hold) until release is called, so that isobench image
// prune and image rm leave it alone while the run uses it.
func (a *app) heldWorkloadImage(ctx context.Context, src, agentFlag string, lim imageLimitFlags, log io.Writer) (img *image.Image, release func(), err error) {
	if src == "" {
		img, err = a.buildImage(ctx, agentFlag, false, log)
	} else {
		limits, lerr := lim.limits()
		if lerr != nil {
			return nil, nil, withStatus(ExitUsage, lerr)
		}
		img, err = a.importImageLimited(ctx, src, agentFlag, "", false, limits, log)
		if err != nil {
			err = fmt.Errorf("--image: %w", err)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	release, err = image.Hold(img)
	if err != nil {
		return nil, nil, err
	}
	return img, release, nil
}
