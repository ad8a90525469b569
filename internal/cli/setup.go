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

	"github.com/isobench/isobench/internal/driver/oci"
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
		{"iperf3", "the net workload's throughput test (in the image and on the host)", "run"},
		{"nginx", "the http workload's server (in the image)", "run"},
		{"wrk", "the http workload's client (on the host and in the image)", "run"},
		{"redis-server", "the redis workload's server (in the image)", "run"},
		{"redis-tools", "the redis workload's redis-benchmark and redis-cli (on the host and in the image)", "run"},
		{"python3", "the python workload's CPython and its standard library (in the image)", "run"},
		{"iproute2", "ip, to inspect the sandbox networks isobench makes (ip netns, ip link)", "run"},
		{"busybox-static", "the static busybox of the workload image", "run"},
		{"util-linux", "unshare, for crun on hybrid cgroup hosts", "run"},
		{"lxc", "system containers LXC (the lxc runtime)", "run"},
		{"docker.io", "the Docker engine (the docker runtimes; isobench starts a private dockerd when none runs)", "run"},
		{"podman", "the Podman engine (the podman runtimes, through podman system service)", "run"},
		{"qemu-system-x86", "QEMU (the qemu-microvm and qemu-vm runtimes, and the KVM probe)", "run"},
		{"qemu-utils", "qemu-img: the copy-on-write root disk of each QEMU guest", "run"},
		{"e2fsprogs", "mkfs.ext4: the guests' ext4 disks, made without mounting", "run"},
		{"xz-utils", "xz: unpacks the vmlinux inside a distribution kernel (Firecracker, Cloud Hypervisor)", "run"},
		{"chromium", "headless browser: the test that opens the HTML report", "test"},
		{"containerd", "the test Kubernetes cluster's container runtime (scripts/kube)", "test"},
		{"etcd-server", "the test Kubernetes cluster's store (scripts/kube)", "test"},
		{"containernetworking-plugins", "the test Kubernetes cluster's pod network: bridge, host-local, loopback (scripts/kube)", "test"},
		{"iptables", "the kubelet of the test Kubernetes cluster checks for it (scripts/kube)", "test"},
		{"gcc", "builds the test Kubernetes cluster's pause image from its C source (scripts/kube)", "test"},
		{"libc6-dev", "the static C library the pause image links (scripts/kube)", "test"},
		{"openssl", "the test Kubernetes cluster's certificates (scripts/kube)", "test"},
		{"curl", "the test Kubernetes cluster's scripts talk to its API server (scripts/kube)", "test"},
		{"jq", "the Kubernetes CI step reads a run's JSON (scripts/kube/ci.sh)", "test"},
	}
}

// backportsComponents lists what `isobench setup` installs from the
// distribution's backports suite, because its default suites lack it. Setup
// enables that suite first when apt does not have it (see backports.go).
func backportsComponents() []component {
	return []component{
		{"incus", "system containers Incus (the incus runtime)", "run"},
	}
}

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
` + oci.BuiltRunscDir + `, where the runsc runtime looks first: the
distribution's runsc is from 2022 and lacks the systrap platform.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.setup(cmd.Context(), cmd.OutOrStdout(), dryRun, tests); err != nil {
				return err
			}
			if err := a.setupGuestKernel(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), dryRun); err != nil {
				return err
			}
			if gvisor {
				return a.setupGvisor(cmd.Context(), cmd.OutOrStdout(), "", dryRun)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be installed, install nothing")
	cmd.Flags().BoolVar(&tests, "tests", false, "also install what isobench's own test suite needs")
	cmd.Flags().BoolVar(&gvisor, "gvisor", false, "also build a current gVisor runsc and containerd shim from its Go module (needs the Go toolchain)")
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
		for _, c := range append(components(), backportsComponents()...) {
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
	var missingBP []string
	for _, c := range backportsComponents() {
		if c.group == "test" && !tests {
			continue
		}
		if installed(ctx, c.pkg) {
			fmt.Fprintf(w, "ok       %-16s %s\n", c.pkg, c.why)
			continue
		}
		fmt.Fprintf(w, "missing  %-16s %s, from the backports suite\n", c.pkg, c.why)
		missingBP = append(missingBP, c.pkg)
	}
	if len(missing) == 0 && len(missingBP) == 0 {
		fmt.Fprintln(w, "nothing to install")
		return nil
	}
	if dryRun {
		if len(missing) > 0 {
			fmt.Fprintf(w, "would run: apt-get install -y --no-install-recommends %s\n", strings.Join(missing, " "))
		}
		if len(missingBP) > 0 {
			fmt.Fprintf(w, "would enable the distribution's backports suite (from the mirror its apt sources name) and run: apt-get install -y -t <codename>-backports %s\n", strings.Join(missingBP, " "))
		}
		return nil
	}
	if a.env.UID != 0 {
		return errors.New("installing packages needs root: run isobench setup as root (or with sudo)")
	}
	if err := runLogged(ctx, w, "apt-get", "update", "-q"); err != nil {
		return err
	}
	if len(missing) > 0 {
		args := append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)
		if err := runLogged(ctx, w, "apt-get", args...); err != nil {
			return err
		}
	}
	if len(missingBP) > 0 {
		if err := installBackports(ctx, w, missingBP); err != nil {
			return err
		}
	}
	for _, p := range append(missing, missingBP...) {
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
