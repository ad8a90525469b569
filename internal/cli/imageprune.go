package cli

import (
	"errors"
	"fmt"
	"io"

	humanize "github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/image"
)

// imageRemoveCommands are image prune and image rm.
func (a *app) imageRemoveCommands() []*cobra.Command {
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Remove every cached workload image and what interrupted imports left",
		Long: `Remove every image of the cache (built or imported), and the temporary
directories that interrupted builds and imports left behind, printing each with
the space it took. An image that a running isobench uses is left, and named.
Nothing is removed while another isobench process builds or imports an image.
The next run builds or imports its image again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cache, err := a.cache()
			if err != nil {
				return err
			}
			removed, err := image.PruneImages(absPath(cache))
			printRemoved(cmd.OutOrStdout(), removed)
			return err
		},
	}
	rm := &cobra.Command{
		Use:   "rm ID|PREFIX",
		Short: "Remove one cached workload image",
		Long: `Remove the cached image with this ID, or the only one whose ID begins with
PREFIX, printing the space it took. An image that a running isobench uses is
not removed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cache, err := a.cache()
			if err != nil {
				return err
			}
			r, err := image.RemoveImage(absPath(cache), args[0])
			if err != nil {
				var inUse *image.InUseError
				if errors.As(err, &inUse) {
					return err
				}
				return withStatus(ExitUsage, err)
			}
			printRemoved(cmd.OutOrStdout(), []image.Removed{r})
			return nil
		},
	}
	return []*cobra.Command{prune, rm}
}

// printRemoved prints one line per removed image or leftover, and the
// total freed.
func printRemoved(w io.Writer, removed []image.Removed) {
	var total int64
	for _, r := range removed {
		total += r.Bytes
		if r.ID != "" {
			fmt.Fprintf(w, "removed image %s  %s\n", r.ID, humanize.IBytes(uint64(r.Bytes)))
		} else {
			fmt.Fprintf(w, "removed leftover %s  %s\n", r.Name, humanize.IBytes(uint64(r.Bytes)))
		}
	}
	fmt.Fprintf(w, "freed %s\n", humanize.IBytes(uint64(total)))
}
