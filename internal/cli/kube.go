package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/kube"
)

// onKubernetes is the value of --on that runs on a cluster.
const onKubernetes = "kubernetes"

// kubeFlags are the flags of `run --on kubernetes` and `gc --on kubernetes`.
type kubeFlags struct {
	on         string
	kubeconfig string
	context    string
	namespace  string
	// Only run uses these.
	nodes      string
	classes    []string
	image      string
	containerd string
	parallel   int
	// Only gc uses this.
	anyHost bool
}

// maxKubeParallel bounds --kube-parallel: each trial in flight is a Job
// and a runner of its own.
const maxKubeParallel = 256

// kubeOnlyFlags are the flags that mean nothing without --on kubernetes.
var kubeOnlyFlags = []string{"kubeconfig", "kube-context", "namespace", "nodes", "runtime-class", "kube-image", "kube-containerd", "kube-parallel", "any-host"}

// given reports whether the user gave --on or a flag that needs it.
func (k kubeFlags) given(changed func(string) bool) bool {
	if k.on != "" {
		return true
	}
	for _, f := range kubeOnlyFlags {
		if changed != nil && changed(f) {
			return true
		}
	}
	return false
}

// addKubeFlags adds the flags that say which cluster to use.
func addKubeFlags(fl *pflag.FlagSet, k *kubeFlags) {
	fl.StringVar(&k.on, "on", "", "run on an engine instead of this host: kubernetes (one Job per trial, each runtime a RuntimeClass)")
	fl.StringVar(&k.kubeconfig, "kubeconfig", "", "with --on kubernetes: the cluster's kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	fl.StringVar(&k.context, "kube-context", "", "with --on kubernetes: the kubeconfig context (default: its current one)")
	fl.StringVar(&k.namespace, "namespace", kube.DefaultNamespace, "with --on kubernetes: the namespace of isobench's Jobs")
}

// addKubeRunFlags adds the flags only `run --on kubernetes` has.
func addKubeRunFlags(fl *pflag.FlagSet, k *kubeFlags) {
	addKubeFlags(fl, k)
	fl.StringVar(&k.nodes, "nodes", "", "with --on kubernetes: label selector of the nodes to run on (default: every node that can run pods); with several, runtimes are named RUNTIME@NODE")
	fl.StringArrayVar(&k.classes, "runtime-class", nil, "with --on kubernetes: RUNTIME=CLASS, the RuntimeClass a runtime name runs as (repeatable; default: the class of the same name; an empty CLASS means the nodes' default handler)")
	fl.StringVar(&k.image, "kube-image", "", "with --on kubernetes: reference of the workload image the nodes pull (default: the run's image, loaded into the nodes beforehand and never pulled)")
	fl.StringVar(&k.containerd, "kube-containerd", "", "with --on kubernetes, where the node is this machine: the address of its containerd, to load the workload image into before the run")
	fl.Var(newIntFlag(&k.parallel, 1, 1, maxKubeParallel), "kube-parallel", fmt.Sprintf("with --on kubernetes: trials in flight at once, 1 to %d (more than 1 lets trials disturb each other; every result records the number)", maxKubeParallel))
}

// connectKube connects to the cluster the flags name.
func (a *app) connectKube(ctx context.Context, k kubeFlags, opt kube.Options) (*kube.Cluster, error) {
	if k.on == "" {
		return nil, withStatus(ExitUsage, fmt.Errorf("the cluster flags (--kubeconfig, --nodes, --runtime-class, ...) need --on %s", onKubernetes))
	}
	if k.on != onKubernetes {
		return nil, withStatus(ExitUsage, fmt.Errorf("--on %q: the one engine isobench runs on is %q", k.on, onKubernetes))
	}
	opt.Namespace = k.namespace
	return kube.Dial(ctx, kube.ConfigPaths(k.kubeconfig, a.env.Getenv), k.context, opt)
}

// kubeRun is what `run --on kubernetes` uses of a cluster.
type kubeRun struct {
	cluster *kube.Cluster
	reg     *driver.Registry
	// names are the runtimes of the run: RUNTIME, or RUNTIME@NODE when the
	// run uses several nodes.
	names      []string
	containerd string
	parallel   int
}

// openKube connects to the cluster and makes the registry of the run's
// runtimes there: each requested runtime (default: one per RuntimeClass of
// the cluster) on each chosen node. It sets f.runtimes to their names and,
// unless the user chose one, the baseline to the first of them (runc when
// there), since a cluster has no bare-host baseline.
func (a *app) openKube(ctx context.Context, f *runFlags, stderr io.Writer) (*kubeRun, error) {
	k := f.kube
	if k.parallel < 1 {
		return nil, withStatus(ExitUsage, fmt.Errorf("--kube-parallel %d: want 1 or more", k.parallel))
	}
	if k.parallel > 1 && f.targetCI != "" {
		return nil, withStatus(ExitUsage, fmt.Errorf("--kube-parallel %d with --target-ci: the adaptive stop runs one trial at a time", k.parallel))
	}
	classes, err := kube.ParseClassMap(k.classes)
	if err != nil {
		return nil, withStatus(ExitUsage, err)
	}
	owner, err := kube.Self()
	if err != nil {
		return nil, err
	}
	opt := kube.Options{Image: k.image, Containerd: k.containerd, Owner: owner, Parallel: k.parallel}
	if f.timeout > 0 {
		// The cluster's own bound on a Job: the trial's, with room for
		// the start and the cleanup.
		opt.Deadline = f.timeout + 10*time.Minute
	}
	c, err := a.connectKube(ctx, k, opt)
	if err != nil {
		return nil, err
	}
	nodes, err := c.Nodes(ctx, k.nodes)
	if err != nil {
		return nil, err
	}
	runtimes := f.runtimes
	if len(runtimes) == 0 {
		have, err := c.RuntimeClasses(ctx)
		if err != nil {
			return nil, err
		}
		runtimes = classes.Runtimes(have)
		if len(runtimes) == 0 {
			return nil, fmt.Errorf("the cluster has no RuntimeClass: name the runtimes with --runtimes and map them with --runtime-class NAME= (the nodes' default handler)")
		}
	}
	for _, rt := range runtimes {
		if strings.ContainsAny(rt, ":@") {
			return nil, withStatus(ExitUsage, fmt.Errorf("--runtimes %q: on a cluster a runtime is a name without ':' or '@' (map it to a RuntimeClass with --runtime-class %s=CLASS)", rt, strings.NewReplacer(":", "-", "@", "-").Replace(rt)))
		}
	}
	kr := &kubeRun{cluster: c, containerd: k.containerd, parallel: k.parallel}
	kr.reg, kr.names = builtin.ClusterDrivers(c, runtimes, nodes, classes)
	fmt.Fprintf(stderr, "cluster %s, namespace %s, nodes %s\n", c.Version(), c.Namespace(), strings.Join(nodes, ", "))
	for _, name := range kr.names {
		fmt.Fprintf(stderr, "  %s: %s\n", name, kr.reg.Doc(name))
	}
	f.runtimes = kr.names
	if !f.changed("baseline") {
		f.baseline = builtin.ClusterBaseline(kr.names)
	}
	return kr, nil
}

// useImage sets the run's image on the cluster and, with --kube-containerd,
// loads it into the node's containerd.
func (kr *kubeRun) useImage(ctx context.Context, img *image.Image, stderr io.Writer) error {
	ref := kr.cluster.UseImage(img)
	if kr.containerd == "" {
		fmt.Fprintf(stderr, "image on the nodes: %s\n", ref)
		return nil
	}
	start := time.Now()
	if _, err := kr.cluster.Prepare(ctx, img); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "image %s in containerd at %s (%s)\n", ref, kr.containerd, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// localNode reports whether the run's node is this machine (the image was
// loaded into its containerd), so that host operations between the steps
// of a trial (dropping the page cache) act on the node.
func (kr *kubeRun) localNode() bool { return kr.containerd != "" }

// gcKube removes what isobench processes that no longer run left in the
// cluster's namespace.
func (a *app) gcKube(ctx context.Context, w io.Writer, k kubeFlags) error {
	c, err := a.connectKube(ctx, k, kube.Options{})
	if err != nil {
		return err
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("reading the host name: %w", err)
	}
	done, err := c.Collect(ctx, host, k.anyHost)
	for _, line := range done.Removed {
		fmt.Fprintln(w, line)
	}
	for _, line := range done.Kept {
		fmt.Fprintln(w, "left", line)
	}
	if len(done.Removed) == 0 && len(done.Kept) == 0 && err == nil {
		fmt.Fprintf(w, "nothing left behind in namespace %s\n", c.Namespace())
	}
	return err
}

// addKubeGCFlags adds the flags of `gc --on kubernetes`.
func addKubeGCFlags(cmd *cobra.Command, k *kubeFlags) {
	addKubeFlags(cmd.Flags(), k)
	cmd.Flags().BoolVar(&k.anyHost, "any-host", false, "with --on kubernetes: also remove what isobench processes on other hosts made (whether they still run cannot be checked from here)")
}
