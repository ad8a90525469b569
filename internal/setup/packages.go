package setup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
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

// Options says what Packages installs and whether it may.
type Options struct {
	// Tests adds what isobench's own test suite needs besides.
	Tests bool
	// DryRun prints what would be installed, and installs nothing.
	DryRun bool
	// Root says the process runs as root, which installing needs.
	Root bool
}

// Packages installs, with apt-get, the components not installed yet,
// printing to w each component's state and what it does. Installed
// packages are left alone. Without apt-get, it names the packages for
// another package manager.
func Packages(ctx context.Context, w io.Writer, o Options) error {
	if _, err := exec.LookPath("apt-get"); err != nil {
		var pkgs []string
		for _, c := range append(components(), backportsComponents()...) {
			pkgs = append(pkgs, c.pkg)
		}
		return fmt.Errorf("apt-get not found: isobench setup knows Debian and its derivatives; install these with your package manager: %s", strings.Join(pkgs, " "))
	}
	p := newPlan(w, o.Tests, func(pkg string) bool { return installed(ctx, pkg) })
	if p.empty() {
		fmt.Fprintln(w, "nothing to install")
		return nil
	}
	if o.DryRun {
		p.writeDryRun(w)
		return nil
	}
	if !o.Root {
		return errors.New("installing packages needs root: run isobench setup as root (or with sudo)")
	}
	return p.install(ctx, w)
}

// plan is the install plan: the packages dpkg does not have, from the
// default suites and from the backports suite.
type plan struct {
	missing, missingBP []string
}

// newPlan checks each component wanted (the test group only with tests),
// in order, and prints its state to w.
func newPlan(w io.Writer, tests bool, isInstalled func(pkg string) bool) plan {
	var p plan
	for _, c := range components() {
		if c.group == "test" && !tests {
			continue
		}
		if isInstalled(c.pkg) {
			fmt.Fprintf(w, "ok       %-16s %s\n", c.pkg, c.why)
			continue
		}
		fmt.Fprintf(w, "missing  %-16s %s\n", c.pkg, c.why)
		p.missing = append(p.missing, c.pkg)
	}
	for _, c := range backportsComponents() {
		if c.group == "test" && !tests {
			continue
		}
		if isInstalled(c.pkg) {
			fmt.Fprintf(w, "ok       %-16s %s\n", c.pkg, c.why)
			continue
		}
		fmt.Fprintf(w, "missing  %-16s %s, from the backports suite\n", c.pkg, c.why)
		p.missingBP = append(p.missingBP, c.pkg)
	}
	return p
}

func (p plan) empty() bool { return len(p.missing) == 0 && len(p.missingBP) == 0 }

// writeDryRun prints what install would run.
func (p plan) writeDryRun(w io.Writer) {
	if len(p.missing) > 0 {
		fmt.Fprintf(w, "would run: apt-get install -y --no-install-recommends %s\n", strings.Join(p.missing, " "))
	}
	if len(p.missingBP) > 0 {
		fmt.Fprintf(w, "would enable the distribution's backports suite (from the mirror its apt sources name) and run: apt-get install -y -t <codename>-backports %s\n", strings.Join(p.missingBP, " "))
	}
}

// install runs apt-get for the plan's packages, enabling the backports
// suite first when needed, and checks that dpkg then has each one.
func (p plan) install(ctx context.Context, w io.Writer) error {
	if err := runLogged(ctx, w, "apt-get", "update", "-q"); err != nil {
		return err
	}
	if len(p.missing) > 0 {
		args := append([]string{"install", "-y", "-q", "--no-install-recommends"}, p.missing...)
		if err := runLogged(ctx, w, "apt-get", args...); err != nil {
			return err
		}
	}
	if len(p.missingBP) > 0 {
		if err := installBackports(ctx, w, p.missingBP); err != nil {
			return err
		}
	}
	for _, pkg := range append(p.missing, p.missingBP...) {
		if !installed(ctx, pkg) {
			return fmt.Errorf("apt-get finished but %s is not installed", pkg)
		}
		fmt.Fprintf(w, "installed %s\n", pkg)
	}
	return nil
}

// installed reports whether dpkg says the package is installed.
func installed(ctx context.Context, pkg string) bool {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${db:Status-Status}", pkg).Output()
	return err == nil && strings.TrimSpace(string(out)) == "installed"
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
