package kube

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
)

// Driver makes sandboxes of one runtime on one node of a cluster: pods of
// one RuntimeClass pinned to one node.
type Driver struct {
	c *Cluster
	// name is the runtime's name in the run; class its RuntimeClass ("" for
	// none); node the node's name ("" to let the scheduler choose).
	name  string
	class string
	node  string

	// mu guards what the probe found of the network: probed, and noNet,
	// why this host cannot reach a pod at its IP ("" when it can).
	mu     sync.Mutex
	probed bool
	noNet  string
}

var _ driver.Driver = (*Driver)(nil)

// setNetworkRefused records what the probe found of the pod network.
func (d *Driver) setNetworkRefused(why string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.probed, d.noNet = true, why
}

// networkRefused says why a sandbox cannot have a network link to this
// host, "" when it can.
func (d *Driver) networkRefused() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.probed {
		return "the runtime was not probed (its probe checks that this host reaches a pod)"
	}
	return d.noNet
}

// Driver returns the driver of a runtime named name in the run, whose pods
// get the RuntimeClass class ("" for the nodes' default handler) and run on
// node ("" for any).
func (c *Cluster) Driver(name, class, node string) *Driver {
	return &Driver{c: c, name: name, class: class, node: node}
}

// Name implements driver.Driver.
func (d *Driver) Name() string { return d.name }

// Factory returns a driver.Factory that makes d, for a driver.Registry of
// the runtimes a run uses on a cluster. Variants are refused: on a
// cluster, a variant is a RuntimeClass of its own.
func (d *Driver) Factory() driver.Factory {
	return func(_ driver.Env, variant string) (driver.Driver, error) {
		if variant != "" {
			return nil, fmt.Errorf("on a cluster a runtime has no variants (%q): map a name to a RuntimeClass instead, e.g. --runtime-class %s-%s=CLASS", variant, d.name, variant)
		}
		return d, nil
	}
}

// Probe implements driver.Driver: it checks the RuntimeClass and the node,
// then starts a sandbox as a trial would (the workload image's agent in a
// Job's pod) and runs a command in it through the exec API, so that a
// runtime the node cannot run is refused with the cluster's own words.
func (d *Driver) Probe(ctx context.Context) (driver.Info, error) {
	info := driver.Info{Name: d.name, Isolation: isolationOf(d.name, d.class), Features: map[string]string{
		"on":        "kubernetes",
		"cluster":   d.c.version,
		"namespace": d.c.opt.Namespace,
		"parallel":  strconv.Itoa(d.c.opt.Parallel),
	}}
	if d.class != "" {
		rc, err := d.c.runtimeClass(ctx, d.class)
		if err != nil {
			return info, withWhat(err, d.name)
		}
		info.Features["runtime_class"] = rc.Name
		info.Features["handler"] = rc.Handler
		info.Isolation = isolationOf(d.name, rc.Handler)
	} else {
		info.Features["runtime_class"] = ""
		info.Features["handler"] = "(the node's default)"
	}
	img, err := d.c.runImage()
	if err != nil {
		return info, err
	}
	ref, _, err := d.c.image(ctx, img)
	if err != nil {
		return info, err
	}
	info.Features["image"] = ref
	if d.node != "" {
		n, err := d.c.cs.Nodes().Get(ctx, d.node, metav1.GetOptions{})
		if err != nil {
			return info, fmt.Errorf("reading node %s: %w", d.node, err)
		}
		if why := unusable(n); why != "" {
			return info, driver.NotSupported(d.name, "node %s cannot run pods: %s", d.node, why)
		}
		addNodeFeatures(info.Features, n)
		info.Version = nodeVersion(n, info.Features["handler"])
	}

	kernel, cpu, node, noNet, err := d.sandboxFacts(ctx, img, true)
	if err != nil {
		return info, err
	}
	d.setNetworkRefused(noNet)
	if noNet == "" {
		info.Features[driver.FeatureNetwork] = netKind
	} else {
		info.Features[driver.FeatureNetworkRefused] = noNet
	}
	if info.Features["node"] == "" {
		// Not pinned: say where the probe ran.
		info.Features["node"] = node
	}
	info.Features["sandbox.kernel"] = kernel
	info.Features["sandbox.cpu"] = cpu
	if !knownCPU(cpu) {
		// A sandbox with a kernel of its own (gVisor) may not tell the
		// CPU's name: ask a pod of the node's default handler.
		cpu = d.c.nodeCPU(ctx, node, img)
	}
	info.Features["node.cpu"] = cpu
	return info, nil
}

func knownCPU(model string) bool { return model != "" && model != "unknown" }

// sandboxFacts starts a sandbox as a trial would (the image's agent in a
// Job's pod) and runs a command in it through the exec API, so that a
// runtime the node cannot run is refused with the cluster's own words. It
// returns the kernel release and CPU model the sandbox sees, and its node;
// with checkNet, also why this host cannot reach a listener in the pod at
// its IP ("" when it can: see probeNetwork).
func (d *Driver) sandboxFacts(ctx context.Context, img *image.Image, checkNet bool) (kernel, cpu, node, noNet string, err error) {
	var buf [4]byte
	_, _ = rand.Read(buf[:])
	in, err := d.Create(ctx, driver.Spec{ID: driver.IDPrefix + "probe-" + hex.EncodeToString(buf[:]), Image: img})
	if err != nil {
		return "", "", "", "", err
	}
	defer in.Close()
	if err := in.Start(ctx); err != nil {
		return "", "", "", "", withWhat(err, d.name)
	}
	inst := in.(*Instance)
	var out, errOut bytes.Buffer
	argv := []string{image.AgentPath, "exec", "--", "busybox", "grep", "-m1", "model name", "/proc/cpuinfo"}
	if err := in.Exec(ctx, argv, &out, &errOut); err != nil {
		return "", "", "", "", fmt.Errorf("%s: running a command through the exec API: %w (%s)", d.name, err, strings.TrimSpace(errOut.String()))
	}
	res, err := agent.ParseResults(&out)
	if err != nil || len(res) != 1 {
		return "", "", "", "", fmt.Errorf("%s: the probe's command answered %q: %v", d.name, clip(out.String(), 200), err)
	}
	if _, model, ok := strings.Cut(res[0].Stdout, ":"); ok {
		cpu = strings.TrimSpace(model)
	}
	// Whether this host reaches a listener in the pod at its IP: the
	// link of Spec.Network.
	if checkNet {
		noNet = probeNetwork(ctx, inst)
	}
	if err := in.Stop(ctx); err != nil {
		return "", "", "", "", err
	}
	if err := in.Close(); err != nil {
		return "", "", "", "", err
	}
	return inst.ready.Kernel, cpu, inst.node, noNet, nil
}

// nodeCPU returns the CPU model a pod of the node's default handler sees,
// once per node, or "unknown".
func (c *Cluster) nodeCPU(ctx context.Context, node string, img *image.Image) string {
	c.mu.Lock()
	if c.cpus == nil {
		c.cpus = map[string]*nodeCPU{}
	}
	n, ok := c.cpus[node]
	if !ok {
		n = &nodeCPU{}
		c.cpus[node] = n
	}
	c.mu.Unlock()
	n.once.Do(func() {
		n.model = "unknown"
		if _, cpu, _, _, err := c.Driver("node-cpu", "", node).sandboxFacts(ctx, img, false); err == nil && knownCPU(cpu) {
			n.model = cpu
		}
	})
	return n.model
}

// nodeCPU is a node's CPU model, found once.
type nodeCPU struct {
	once  sync.Once
	model string
}

// addNodeFeatures records the node's environment.
func addNodeFeatures(f map[string]string, n *corev1.Node) {
	ni := n.Status.NodeInfo
	f["node"] = n.Name
	f["node.kernel"] = ni.KernelVersion
	f["node.os"] = ni.OSImage
	f["node.arch"] = ni.Architecture
	f["node.kubelet"] = ni.KubeletVersion
	f["node.container_runtime"] = ni.ContainerRuntimeVersion
	if q, ok := n.Status.Capacity[corev1.ResourceCPU]; ok {
		f["node.cpus"] = q.String()
	}
	if q, ok := n.Status.Capacity[corev1.ResourceMemory]; ok {
		f["node.memory_bytes"] = strconv.FormatInt(q.Value(), 10)
	}
	if z := n.Labels[corev1.LabelTopologyZone]; z != "" {
		f["node.zone"] = z
	}
	if t := n.Labels[corev1.LabelInstanceTypeStable]; t != "" {
		f["node.instance_type"] = t
	}
}

func nodeVersion(n *corev1.Node, handler string) string {
	ni := n.Status.NodeInfo
	return fmt.Sprintf("%s, handler %s, kubelet %s", ni.ContainerRuntimeVersion, handler, ni.KubeletVersion)
}

// isolationOf guesses the isolation class from the runtime's name or
// handler: gVisor is an application kernel, Kata and the microVM handlers
// are virtual machines, anything else shares the node's kernel.
func isolationOf(names ...string) string {
	for _, n := range names {
		n = strings.ToLower(n)
		switch {
		case strings.Contains(n, "runsc") || strings.Contains(n, "gvisor"):
			return driver.IsolationUserKernel
		case strings.Contains(n, "kata") || strings.Contains(n, "firecracker") || strings.Contains(n, "cloud-hypervisor") || strings.Contains(n, "qemu"):
			return driver.IsolationVM
		}
	}
	return driver.IsolationContainer
}

// withWhat names the runtime in a NotSupported error that names nothing.
func withWhat(err error, what string) error {
	var ns *driver.NotSupportedError
	if errors.As(err, &ns) && ns.What == "" {
		return &driver.NotSupportedError{What: what, Reason: ns.Reason}
	}
	return err
}

func clip(s string, n int) string {
	s = agent.Printable(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
