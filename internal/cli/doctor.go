package cli

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/driver"
)

// Varianter is implemented by drivers with named variants worth probing one
// by one (gVisor's platforms).
type Varianter interface {
	Variants() []string
}

func (a *app) doctorCommand() *cobra.Command {
	var agentFlag string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Say which runtimes work here, and exactly why the others do not",
		Long: `Try every runtime isobench knows, by starting a tiny sandbox, and print
whether it works here, its version, and the exact reason when it does not.
Then check the workload tools and the agent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.doctor(cmd.Context(), cmd.OutOrStdout(), agentFlag)
		},
	}
	cmd.Flags().StringVar(&agentFlag, "agent", "", "path of the static isobench-agent binary (default: beside isobench)")
	return cmd
}

func (a *app) doctor(ctx context.Context, w io.Writer, agentFlag string) error {
	denv, err := a.driverEnv()
	if err != nil {
		return err
	}
	reg := builtin.Drivers()
	names := reg.Names()
	// Variants are probed as runtimes of their own.
	for _, n := range reg.Names() {
		d, err := reg.New(denv, n)
		if err != nil {
			continue
		}
		if v, ok := d.(Varianter); ok {
			for _, variant := range v.Variants() {
				names = append(names, n+":"+variant)
			}
		}
	}
	results := probeAll(ctx, reg, denv, names, 60*time.Second)
	defer closeDrivers(results, w)
	sort.SliceStable(results, func(i, j int) bool { return order(names, results[i].name) < order(names, results[j].name) })

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUNTIME\tWORKS\tVERSION\tDETAILS")
	working := 0
	for _, p := range results {
		if p.err != nil {
			status := "no"
			if !errors.Is(p.err, driver.ErrNotSupported) {
				status = "error"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.name, status, "-", oneLine(p.err.Error()))
			continue
		}
		working++
		var details []string
		if p.info.Isolation != "" {
			details = append(details, "isolation "+p.info.Isolation)
		}
		keys := make([]string, 0, len(p.info.Features))
		for k := range p.info.Features {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			details = append(details, k+" "+p.info.Features[k])
		}
		details = append(details, p.info.Warnings...)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.name, "yes", oneLine(p.info.Version), strings.Join(details, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d of %d runtimes work here.\n\n", working, len(results))

	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tFOUND\tDETAILS")
	for _, t := range []struct{ name, why string }{
		{"sysbench", "cpu, memory and fileio workloads"},
		{"fio", "fio workload"},
	} {
		if p, err := exec.LookPath(t.name); err == nil {
			fmt.Fprintf(tw, "%s\tyes\t%s (%s)\n", t.name, p, t.why)
		} else {
			fmt.Fprintf(tw, "%s\tno\tnot in PATH: isobench setup installs it (%s)\n", t.name, t.why)
		}
	}
	fmt.Fprintf(tw, "busybox\t%s\n", staticCheck("/bin/busybox", "isobench setup installs busybox-static"))
	if p, err := a.agentPath(agentFlag); err != nil {
		fmt.Fprintf(tw, "isobench-agent\tno\t%s\n", err)
	} else {
		fmt.Fprintf(tw, "isobench-agent\t%s\n", staticCheck(p, "rebuild it with CGO_ENABLED=0"))
	}
	if a.env.UID != 0 {
		fmt.Fprintf(tw, "root\tno\tmost runtimes need root: run isobench as root\n")
	}
	for _, row := range vmDoctorRows(ctx, denv) {
		fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}

// staticCheck says whether path exists and is a static executable.
func staticCheck(path, fix string) string {
	f, err := elf.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "no\t" + path + " not found: " + fix
		}
		return "no\t" + path + ": " + err.Error()
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "no\t" + path + " is dynamically linked: " + fix
		}
	}
	return "yes\t" + path + " (static)"
}

func order(names []string, n string) int {
	for i, x := range names {
		if x == n {
			return i
		}
	}
	return len(names)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}
