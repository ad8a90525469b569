package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/driver"
)

func (a *app) gcCommand() *cobra.Command {
	var k kubeFlags
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove what an earlier isobench left behind (after a crash or kill)",
		Long: `Find and remove every sandbox, mount, cgroup and file that an isobench
process which no longer runs left on this host. Only what isobench made is
touched: it is found by isobench's state records and name prefix.

With --on kubernetes, remove instead the Jobs and pods (labelled
isobench.managed=true) that isobench processes on this host which no longer
run left in the cluster's namespace, and those that ended.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if k.on != "" {
				return a.gcKube(cmd.Context(), cmd.OutOrStdout(), k)
			}
			return a.gc(cmd.Context(), cmd.OutOrStdout())
		},
	}
	addKubeGCFlags(cmd, &k)
	return cmd
}

func (a *app) gc(ctx context.Context, w io.Writer) error {
	denv, err := a.driverEnv()
	if err != nil {
		return err
	}
	reg := builtin.Drivers()
	var errs []error
	removed := 0
	for _, name := range reg.Names() {
		d, err := reg.New(denv, name)
		if err != nil {
			continue
		}
		c, ok := d.(driver.Collector)
		if !ok {
			continue
		}
		done, err := c.Collect(ctx)
		if cerr := driver.CloseDriver(d); cerr != nil {
			err = errors.Join(err, cerr)
		}
		for _, line := range done {
			fmt.Fprintln(w, line)
		}
		removed += len(done)
		if err != nil && len(done) == 0 && errors.Is(err, driver.ErrNotSupported) {
			// A runtime not installed here made nothing here to collect.
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if removed == 0 && len(errs) == 0 {
		fmt.Fprintln(w, "nothing left behind")
	}
	return errors.Join(errs...)
}
