package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/doctor"
	"github.com/isobench/isobench/internal/runner"
)

func (a *app) doctorCommand() *cobra.Command {
	var (
		agentFlag string
		verbose   bool
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "doctor [RUNTIME]",
		Short: "Say which runtimes work here, and exactly why the others do not",
		Long: `Try every runtime isobench knows, by starting a tiny sandbox, and print one
line per runtime: whether it works here, its version, and the reason when it
does not (or a key fact when it does), in at most 100 columns. Then check the
workload tools, the agent, KVM and the guest kernel.

-v gives every detail of every runtime (features, warnings, the whole
reason); doctor RUNTIME probes that runtime alone and gives all of it.
--json gives everything for scripts: {"schema_version", "host",
"runtimes": [{"name", "works", "status", "version", "reason", "details",
"isolation", "features", "warnings"}], "tools": [{"name", "found",
"details", "runtimes_failing"}], "working", "total"}.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := doctorOptions{agent: agentFlag, verbose: verbose, json: asJSON}
			if len(args) == 1 {
				o.only = args[0]
			}
			return a.doctor(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().StringVar(&agentFlag, "agent", "", "path of the static isobench-agent binary (default: beside isobench)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "every detail of every runtime, not one line each")
	cmd.Flags().BoolVar(&asJSON, "json", false, "everything as one JSON document, for scripts")
	return cmd
}

// doctorOptions are doctor's flags and argument.
type doctorOptions struct {
	agent   string
	verbose bool
	json    bool
	only    string // one runtime's name, "" for all
}

// doctor probes the runtimes (all, or o.only), checks the tools unless
// one runtime was named, and writes the report in the form o asks for.
func (a *app) doctor(ctx context.Context, w io.Writer, o doctorOptions) error {
	reg := builtin.Drivers()
	if o.only != "" {
		base, _, _ := strings.Cut(o.only, ":")
		if !slices.Contains(reg.Names(), base) {
			return withStatus(ExitUsage, fmt.Errorf("doctor: unknown runtime %q (known: %s)", o.only, strings.Join(reg.Names(), ", ")))
		}
	}
	denv, err := a.driverEnv()
	if err != nil {
		return err
	}
	names := doctor.Names(reg, denv)
	if o.only != "" {
		if !slices.Contains(names, o.only) {
			return withStatus(ExitUsage, fmt.Errorf("doctor: unknown runtime %q (known: %s)", o.only, strings.Join(names, ", ")))
		}
		names = []string{o.only}
	}
	probes := runner.ProbeAll(ctx, reg, denv, names, 60*time.Second)
	defer func() {
		if err := runner.CloseDrivers(probes); err != nil {
			fmt.Fprintln(w, err)
		}
	}()
	rep := doctor.NewReport(doctor.CaptureHost(ctx, a.env.UID == 0), names, probes)
	if o.only == "" {
		agent, agentErr := a.agentPath(o.agent)
		rep.AddTools(doctor.ToolChecks{Agent: agent, AgentErr: agentErr, Root: a.env.UID == 0, VMRows: doctor.VMRows(ctx, denv)})
	}
	switch {
	case o.json:
		return doctor.WriteJSON(w, rep)
	case o.verbose || o.only != "":
		return doctor.WriteLong(w, rep)
	}
	return doctor.WriteShort(w, rep, doctor.Width)
}
