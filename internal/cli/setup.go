package cli

import (
	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/setup"
)

func (a *app) setupCommand() *cobra.Command {
	var dryRun, tests, gvisor bool
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Install the runtimes and workload tools this distribution packages",
		Long: `Install, with the distribution's package manager (apt-get), the runtimes
and workload tools isobench uses that are not installed yet. Installed packages
are left alone; what was done is printed. Needs root. Then, unless the cache
has one, fetch the guest kernel of the VM runtimes (isobench image kernel).

With --gvisor, also build a current gVisor (runsc and its containerd shim)
from gVisor's Go module at a pinned version, with the Go toolchain, into
` + setup.GvisorDir + `, where the runsc runtime looks first: the
distribution's runsc is from 2022 and lacks the systrap platform.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, w := cmd.Context(), cmd.OutOrStdout()
			if err := setup.Packages(ctx, w, setup.Options{Tests: tests, DryRun: dryRun, Root: a.env.UID == 0}); err != nil {
				return err
			}
			if err := a.setupGuestKernel(ctx, w, cmd.ErrOrStderr(), dryRun); err != nil {
				return err
			}
			if !gvisor {
				return nil
			}
			cache, err := a.cache()
			if err != nil {
				return err
			}
			return setup.Gvisor(ctx, w, setup.GvisorOptions{CacheDir: cache, DryRun: dryRun, Getenv: a.env.Getenv})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be installed, install nothing")
	cmd.Flags().BoolVar(&tests, "tests", false, "also install what isobench's own test suite needs")
	cmd.Flags().BoolVar(&gvisor, "gvisor", false, "also build a current gVisor runsc and containerd shim from its Go module (needs the Go toolchain)")
	return cmd
}
