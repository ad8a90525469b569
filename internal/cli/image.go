package cli

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/image"
)

func (a *app) imageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build and inspect the workload image",
	}
	var force bool
	var agentFlag string
	build := &cobra.Command{
		Use:   "build",
		Short: "Build the workload image offline from this machine's own files",
		Long: `Build the workload image: a root filesystem holding the isobench agent,
sysbench, fio, iperf3, a static busybox and every shared library they load, taken
from this machine. The image is content-addressed in the cache directory and
rebuilt only when an input changes (or with --force).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			img, err := a.buildImage(cmd.Context(), agentFlag, force, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			printImage(cmd.OutOrStdout(), img)
			return nil
		},
	}
	build.Flags().BoolVar(&force, "force", false, "rebuild even if the inputs did not change")
	build.Flags().StringVar(&agentFlag, "agent", "", "path of the static isobench-agent binary (default: beside isobench)")
	cmd.AddCommand(build, a.imageImportCommand())
	cmd.AddCommand(a.imageKernelCommand())
	cmd.AddCommand(a.imageRemoveCommands()...)
	return cmd
}

// buildImage builds (or finds in the cache) the workload image.
func (a *app) buildImage(ctx context.Context, agentFlag string, force bool, log io.Writer) (*image.Image, error) {
	agentBin, err := a.agentPath(agentFlag)
	if err != nil {
		return nil, err
	}
	cache, err := a.cache()
	if err != nil {
		return nil, err
	}
	img, err := image.Build(ctx, image.BuildOptions{CacheDir: cache, Agent: agentBin, Force: force, Log: log})
	if err != nil {
		return nil, fmt.Errorf("building the workload image: %w", err)
	}
	return img, nil
}

func printImage(w io.Writer, img *image.Image) {
	fmt.Fprintf(w, "image  %s\n", img.ID)
	fmt.Fprintf(w, "rootfs %s\n", img.Rootfs)
	names := make([]string, 0, len(img.Manifest.Tools))
	for n := range img.Manifest.Tools {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "tool   %-10s %s\n", n, img.Manifest.Tools[n])
	}
	fmt.Fprintf(w, "files  %d\n", len(img.Manifest.Files))
}
