package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
)

// component is one distribution package isobench can install, and why.
type component struct {
	pkg string
	why string
	// group: "run" (runtimes and workload tools), "test" (what the test
	// suite needs besides).
	group string
}

// components lists what `isobench setup` installs, in order.
func components() []component {
	return []component{
		{"runc", "OCI runtime runc", "run"},
		{"crun", "OCI runtime crun", "run"},
		{"runsc", "gVisor runsc", "run"},
		{"sysbench", "the cpu, memory and fileio workloads", "run"},
		{"fio", "the fio workload", "run"},
		{"busybox-static", "the static busybox of the workload image", "run"},
		{"util-linux", "unshare, for crun on hybrid cgroup hosts", "run"},
	}
}

func (a *app) setupCommand() *cobra.Command {
	var dryRun, tests bool
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Install the runtimes and workload tools this distribution packages",
		Long: `Install, with the distribution's package manager (apt-get), the runtimes
and workload tools isobench uses that are not installed yet. Installed packages
are left alone; what was done is printed. Needs root.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup(cmd.Context(), cmd.OutOrStdout(), dryRun, tests)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be installed, install nothing")
	cmd.Flags().BoolVar(&tests, "tests", false, "also install what isobench's own test suite needs")
	return cmd
}

// installed reports whether dpkg says the package is installed.
func installed(ctx context.Context, pkg string) bool {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${db:Status-Status}", pkg).Output()
	return err == nil && strings.TrimSpace(string(out)) == "installed"
}

func (a *app) setup(ctx context.Context, w io.Writer, dryRun, tests bool) error {
	if _, err := exec.LookPath("apt-get"); err != nil {
		var pkgs []string
		for _, c := range components() {
			pkgs = append(pkgs, c.pkg)
		}
		return fmt.Errorf("apt-get not found: isobench setup knows Debian and its derivatives; install these with your package manager: %s", strings.Join(pkgs, " "))
	}
	var missing []string
	for _, c := range components() {
		if c.group == "test" && !tests {
			continue
		}
		if installed(ctx, c.pkg) {
			fmt.Fprintf(w, "ok       %-16s %s\n", c.pkg, c.why)
			continue
		}
		fmt.Fprintf(w, "missing  %-16s %s\n", c.pkg, c.why)
		missing = append(missing, c.pkg)
	}
	if len(missing) == 0 {
		fmt.Fprintln(w, "nothing to install")
		return nil
	}
	if dryRun {
		fmt.Fprintf(w, "would run: apt-get install -y --no-install-recommends %s\n", strings.Join(missing, " "))
		return nil
	}
	if a.env.UID != 0 {
		return errors.New("installing packages needs root: run isobench setup as root (or with sudo)")
	}
	if err := runLogged(ctx, w, "apt-get", "update", "-q"); err != nil {
		return err
	}
	args := append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)
	if err := runLogged(ctx, w, "apt-get", args...); err != nil {
		return err
	}
	for _, p := range missing {
		if !installed(ctx, p) {
			return fmt.Errorf("apt-get finished but %s is not installed", p)
		}
		fmt.Fprintf(w, "installed %s\n", p)
	}
	return nil
}

// runLogged runs a command non-interactively, showing what it runs and, on
// failure, the tail of its output.
func runLogged(ctx context.Context, w io.Writer, name string, args ...string) error {
	fmt.Fprintf(w, "running: %s %s\n", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cmd.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail)
	}
	return nil
}
