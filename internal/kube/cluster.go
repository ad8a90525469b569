package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
)

// Defaults of Options.
const (
	DefaultNamespace = "default"
	// DefaultDeadline bounds a Job's life in the cluster when Options give
	// none: longer than any trial should take, short enough that a Job of
	// an isobench that died does not hold a node for a day.
	DefaultDeadline = 2 * time.Hour
	// DefaultTTL is how long the cluster keeps a Job that ended on its own.
	DefaultTTL = 10 * time.Minute
	// ImageRepo is the repository of the workload image's default
	// reference; its "localhost" domain keeps nodes from pulling it.
	ImageRepo = "localhost/isobench-workload"
)

// Options say how isobench uses a cluster.
type Options struct {
	// Namespace holds every Job; "" means DefaultNamespace.
	Namespace string
	// Image is the reference of the workload image as the nodes know it;
	// "" means ImageRef of the run's image, loaded into the nodes
	// beforehand (see LoadImage) and never pulled.
	Image string
	// Deadline and TTL bound each Job in the cluster (see JobParams);
	// zero means DefaultDeadline and DefaultTTL.
	Deadline time.Duration
	TTL      time.Duration
	// Containerd, where the nodes' container runtime is this machine's
	// containerd, is its address: each image is loaded into it (LoadImage)
	// before its first sandbox. TmpDir holds the temporary files of that.
	Containerd string
	TmpDir     string
	// Owner is the isobench process making the Jobs.
	Owner Owner
	// Parallel is how many trials the run has in flight at once; it is
	// recorded with every result (as the feature "parallel").
	Parallel int
}

// Config loads a client configuration from kubeconfig files: the first of
// paths that exists, as kubectl reads $KUBECONFIG and ~/.kube/config, and
// the named context ("" for the file's current one).
func Config(paths []string, contextName string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: paths}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: contextName})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the cluster's configuration (kubeconfig %s): %w", strings.Join(paths, ", "), err)
	}
	cfg.UserAgent = "isobench"
	// Trials exec one command at a time; the client's default rate limit
	// (5 requests per second) would slow the watches of a start.
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// Cluster is a connection to one cluster, shared by the drivers of a run.
type Cluster struct {
	cs      *client
	rest    *rest.Config
	opt     Options
	version string // the API server's version

	mu  sync.Mutex
	img *image.Image // the run's image, for Probe
	// loaded holds the images loaded into Options.Containerd, by ID.
	loaded map[string]*imageLoad
	// cpus holds the nodes' CPU models, by node name.
	cpus map[string]*nodeCPU
}

// imageLoad is one image's load, done once.
type imageLoad struct {
	once sync.Once
	err  error
}

// Connect makes a Cluster and checks that the API server answers.
func Connect(ctx context.Context, cfg *rest.Config, opt Options) (*Cluster, error) {
	cs, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	if opt.Namespace == "" {
		opt.Namespace = DefaultNamespace
	}
	if opt.Deadline == 0 {
		opt.Deadline = DefaultDeadline
	}
	if opt.TTL == 0 {
		opt.TTL = DefaultTTL
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 1
	}
	c := &Cluster{cs: cs, rest: cfg, opt: opt}
	v, err := cs.ServerVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("reaching the cluster at %s: %w", cfg.Host, err)
	}
	c.version = v.GitVersion
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Version is the API server's version.
func (c *Cluster) Version() string { return c.version }

// Namespace is where the cluster's Jobs go.
func (c *Cluster) Namespace() string { return c.opt.Namespace }

// ImageRef is the default reference of a workload image on the nodes.
func ImageRef(img *image.Image) string {
	tag := img.ID
	if len(tag) > 32 {
		tag = tag[:32]
	}
	return ImageRepo + ":" + LabelValue(tag)
}

// UseImage sets the workload image Probe starts its test sandbox from, and
// returns its reference on the nodes.
func (c *Cluster) UseImage(img *image.Image) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.img = img
	if c.opt.Image != "" {
		return c.opt.Image
	}
	return ImageRef(img)
}

// Prepare makes img ready on the nodes: with Options.Containerd it loads
// img there (once; later sandboxes reuse it). It returns img's reference.
func (c *Cluster) Prepare(ctx context.Context, img *image.Image) (string, error) {
	ref, _, err := c.image(ctx, img)
	return ref, err
}

func (c *Cluster) runImage() (*image.Image, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.img == nil {
		return nil, errors.New("kube: no workload image set (Cluster.UseImage)")
	}
	return c.img, nil
}

// image returns the reference and pull policy of img on the nodes, loading
// it into Options.Containerd first where one is given.
func (c *Cluster) image(ctx context.Context, img *image.Image) (string, corev1.PullPolicy, error) {
	if c.opt.Image != "" {
		return c.opt.Image, corev1.PullIfNotPresent, nil
	}
	if img == nil {
		return "", "", errors.New("kube: a sandbox without an image")
	}
	ref := ImageRef(img)
	if c.opt.Containerd == "" {
		return ref, corev1.PullNever, nil
	}
	c.mu.Lock()
	if c.loaded == nil {
		c.loaded = map[string]*imageLoad{}
	}
	l, ok := c.loaded[img.ID]
	if !ok {
		l = &imageLoad{}
		c.loaded[img.ID] = l
	}
	c.mu.Unlock()
	l.once.Do(func() {
		_, l.err = LoadImage(ctx, img, ref, c.opt.Containerd, c.opt.TmpDir)
	})
	if l.err != nil {
		// A later sandbox tries anew.
		c.mu.Lock()
		if c.loaded[img.ID] == l {
			delete(c.loaded, img.ID)
		}
		c.mu.Unlock()
		return "", "", l.err
	}
	return ref, corev1.PullNever, nil
}

// Nodes returns the names of the nodes that match the label selector ("" for
// all) and can run pods: Ready, schedulable, with no NoSchedule or
// NoExecute taint. The others are named in the error when none is left.
func (c *Cluster) Nodes(ctx context.Context, selector string) ([]string, error) {
	if _, err := labels.Parse(selector); err != nil {
		return nil, fmt.Errorf("node selector %q: %w", selector, err)
	}
	list, err := c.cs.Nodes().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing the cluster's nodes: %w", err)
	}
	var names, refused []string
	for _, n := range list.Items {
		if why := unusable(&n); why != "" {
			refused = append(refused, n.Name+": "+why)
			continue
		}
		names = append(names, n.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		what := "no node"
		if selector != "" {
			what = fmt.Sprintf("no node matching %q", selector)
		}
		if len(refused) > 0 {
			return nil, fmt.Errorf("%s can run pods (%s)", what, strings.Join(refused, "; "))
		}
		return nil, fmt.Errorf("%s in the cluster", what)
	}
	return names, nil
}

// unusable says why a node cannot run a trial's pod, or "".
func unusable(n *corev1.Node) string {
	if n.Spec.Unschedulable {
		return "cordoned"
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return "tainted " + t.ToString()
		}
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			if cond.Status != corev1.ConditionTrue {
				return "not ready: " + cond.Message
			}
			return ""
		}
	}
	return "reports no Ready condition"
}

// RuntimeClasses lists the names of the cluster's RuntimeClasses.
func (c *Cluster) RuntimeClasses(ctx context.Context) ([]string, error) {
	list, err := c.cs.RuntimeClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the cluster's RuntimeClasses: %w", err)
	}
	var out []string
	for _, rc := range list.Items {
		out = append(out, rc.Name)
	}
	sort.Strings(out)
	return out, nil
}

func (c *Cluster) runtimeClass(ctx context.Context, name string) (*nodev1.RuntimeClass, error) {
	rc, err := c.cs.RuntimeClasses().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		have, _ := c.RuntimeClasses(ctx)
		return nil, driver.NotSupported("", "the cluster has no RuntimeClass %q (it has: %s); map the runtime to one with --runtime-class NAME=CLASS", name, orNone(have))
	}
	if err != nil {
		return nil, fmt.Errorf("reading RuntimeClass %s: %w", name, err)
	}
	return rc, nil
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
