package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/kube"
	"github.com/isobench/isobench/internal/outputfile"
)

// kubeCommand groups what isobench does for clusters outside a run.
func (a *app) kubeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kube",
		Short: "Prepare a Kubernetes cluster for `isobench run --on kubernetes`",
		Args:  cobra.NoArgs,
	}
	var src, agentFlag string
	img := &cobra.Command{
		Use:   "image FILE",
		Short: "Write the workload image as a docker-archive for the nodes to load",
		Long: `Write the workload image (built from this machine's tools, or --image) as a
docker-archive tarball, tagged with the reference ` + "`isobench run --on kubernetes`" + `
gives its pods, and print that reference. Load it into each node's container
runtime, e.g. ` + "`ctr -n k8s.io images import FILE`" + ` on a containerd node or
` + "`kind load image-archive FILE`" + `; the pods never pull it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.kubeImage(cmd.Context(), args[0], src, agentFlag, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	img.Flags().StringVar(&src, "image", "", "the image to export instead of one built from the host's tools (as isobench run --image takes it)")
	img.Flags().StringVar(&agentFlag, "agent", "", "path of the static isobench-agent binary (default: beside isobench)")
	cmd.AddCommand(img)
	return cmd
}

func (a *app) kubeImage(ctx context.Context, file, src, agentFlag string, stdout, stderr io.Writer) error {
	// FILE is checked before the image is built or imported, which takes
	// minutes.
	if file == "" {
		return withStatus(ExitUsage, errors.New("kube image: FILE is empty"))
	}
	if err := outputfile.Check("kube image", file); err != nil {
		return withStatus(ExitUsage, err)
	}
	img, err := a.workloadImage(ctx, src, agentFlag, stderr)
	if err != nil {
		return err
	}
	ref := kube.ImageRef(img)
	// Written as every output is (see outputfile.Write): a link planted at FILE
	// is replaced, never written through, and a failed write leaves
	// nothing behind.
	if err := outputfile.Write(file, func(w io.Writer) error {
		return image.WriteArchive(ctx, w, img, ref, image.ArchiveConfig{}, "")
	}); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote the workload image %s to %s; load it into every node (ctr -n %s images import %s)\n", shortID(img.ID), file, kube.CRINamespace, file)
	fmt.Fprintln(stdout, ref)
	return nil
}
