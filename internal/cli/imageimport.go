package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/image"
)

func (a *app) imageImportCommand() *cobra.Command {
	var agentFlag, platform string
	var force bool
	cmd := &cobra.Command{
		Use:   "import IMAGE",
		Short: "Import a user's image as the workload image (what run --image does)",
		Long: `Import an image to run the workloads from: an OCI image layout directory, a
tar file holding an OCI image layout or a docker archive (docker save; plain
or gzip), or a registry reference (anonymous pulls only). The layers are
unpacked safely into the cache: entries that climb out of the image, links
that point out of it or are written through, hard links to files outside it,
device nodes and oversized files are refused, naming the entry. The isobench
agent is added, and the image is checked to be self-contained. The image
must hold the workloads' tools (sysbench, fio) for the workloads to run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := a.importImage(cmd.Context(), args[0], agentFlag, platform, force, cmd.ErrOrStderr())
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
	return cmd
}

// importImage imports a user's image into the cache.
func (a *app) importImage(ctx context.Context, src, agentFlag, platform string, force bool, log io.Writer) (*image.Image, error) {
	agentBin, err := a.agentPath(agentFlag)
	if err != nil {
		return nil, err
	}
	cache, err := a.cache()
	if err != nil {
		return nil, err
	}
	return image.Import(ctx, image.ImportOptions{CacheDir: absPath(cache), Agent: absPath(agentBin), Source: src, Platform: platform, Force: force, Log: log})
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
