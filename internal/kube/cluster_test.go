package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/drivertest"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/testutil"
)

// The tests below run against a real cluster, the single-node one that
// scripts/kube/up.sh starts on this machine (.ci/run starts it): set
// ISOBENCH_KUBE to its kubeconfig. Its containerd's address is read from
// containerd.address beside the kubeconfig (ISOBENCH_KUBE_CONTAINERD
// overrides), so that the tests load their images into the node. The
// cluster must have the RuntimeClasses runc and runsc.

type testCluster struct {
	kubeconfig, containerd string
}

func requireCluster(t *testing.T) testCluster {
	t.Helper()
	kc := os.Getenv("ISOBENCH_KUBE")
	if kc == "" {
		t.Skip("no test cluster: set ISOBENCH_KUBE to the kubeconfig of one (scripts/kube/up.sh starts one; .ci/run does)")
	}
	tc := testCluster{kubeconfig: kc, containerd: os.Getenv("ISOBENCH_KUBE_CONTAINERD")}
	if tc.containerd == "" {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(kc), "containerd.address"))
		if err != nil {
			t.Fatalf("ISOBENCH_KUBE is set but the node's containerd address is not known (ISOBENCH_KUBE_CONTAINERD): %v", err)
		}
		tc.containerd = strings.TrimSpace(string(b))
	}
	return tc
}

func (tc testCluster) connect(t *testing.T, opt Options) *Cluster {
	t.Helper()
	cfg, err := Config([]string{tc.kubeconfig}, "")
	if err != nil {
		t.Fatal(err)
	}
	if opt.Owner.IsZero() {
		if opt.Owner, err = Self(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Connect(ctx, cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (tc testCluster) node(t *testing.T, c *Cluster) string {
	t.Helper()
	nodes, err := c.Nodes(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return nodes[0]
}

// noLeftovers is drivertest's leak check for a cluster: no Job and no pod of
// the sandbox id is left.
func noLeftovers(c *Cluster) drivertest.LeakCheck {
	return func(ctx context.Context, id string) error {
		sel := LabelID + "=" + JobName(id)
		var left []string
		if _, err := c.cs.Jobs(c.opt.Namespace).Get(ctx, JobName(id), metav1.GetOptions{}); err == nil {
			left = append(left, "job/"+JobName(id))
		}
		pods, err := c.cs.Pods(c.opt.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			left = append(left, "pod/"+p.Name)
		}
		if len(left) > 0 {
			return fmt.Errorf("in the cluster: %s", strings.Join(left, ", "))
		}
		return nil
	}
}

// TestDriverSuite runs the suite every driver passes, on each RuntimeClass
// of the test cluster.
func TestDriverSuite(t *testing.T) {
	tc := requireCluster(t)
	img := testutil.MinimalImage(t)
	for _, class := range []string{"runc", "runsc"} {
		t.Run(class, func(t *testing.T) {
			c := tc.connect(t, Options{Containerd: tc.containerd, TmpDir: t.TempDir()})
			c.UseImage(img)
			d := c.Driver(class, class, tc.node(t, c))
			drivertest.Run(t, d, img,
				drivertest.WithoutNetworkIsolation("a pod always has a network namespace with the cluster's pod network"),
				drivertest.WithLeakCheck("cluster", noLeftovers(c)),
				// The kubelet reports a container that cannot start as
				// "StartError" with the runtime's words.
				drivertest.WithFailedStartMessage(regexp.MustCompile(`(?i)(`+regexp.QuoteMeta(image.AgentPath)+`|no such file|not found|StartError)`)),
				drivertest.WithTimeouts(90*time.Second, 30*time.Second))
		})
	}
}

// TestProbe checks what a probe records of the node and the sandbox: gVisor
// shows its own kernel, runc the node's.
func TestProbe(t *testing.T) {
	tc := requireCluster(t)
	img := testutil.MinimalImage(t)
	c := tc.connect(t, Options{Containerd: tc.containerd, TmpDir: t.TempDir(), Parallel: 1})
	c.UseImage(img)
	node := tc.node(t, c)
	infos := map[string]driver.Info{}
	for _, class := range []string{"runc", "runsc"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		info, err := c.Driver(class, class, node).Probe(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Probe %s: %v", class, err)
		}
		t.Logf("%s: %s %s %v", class, info.Version, info.Isolation, info.Features)
		for _, k := range []string{"node", "node.kernel", "node.os", "node.cpu", "node.cpus", "node.kubelet", "node.container_runtime", "handler", "runtime_class", "sandbox.kernel", "image"} {
			if info.Features[k] == "" {
				t.Errorf("%s: feature %q missing", class, k)
			}
		}
		if info.Features["node"] != node || info.Features["handler"] != class || info.Features["on"] != "kubernetes" || info.Features["parallel"] != "1" {
			t.Errorf("%s: features %v", class, info.Features)
		}
		infos[class] = info
	}
	if infos["runc"].Isolation != driver.IsolationContainer || infos["runsc"].Isolation != driver.IsolationUserKernel {
		t.Errorf("isolation runc %s, runsc %s", infos["runc"].Isolation, infos["runsc"].Isolation)
	}
	if k := infos["runc"].Features; k["sandbox.kernel"] != k["node.kernel"] {
		t.Errorf("runc sandbox kernel %q, want the node's %q", k["sandbox.kernel"], k["node.kernel"])
	}
	if k := infos["runsc"].Features; k["sandbox.kernel"] == k["node.kernel"] {
		t.Errorf("runsc sandbox kernel %q is the node's: not gVisor", k["sandbox.kernel"])
	}
}

// TestProbeRefuses checks that a runtime the cluster cannot run is refused
// as not supported, with the reason.
func TestProbeRefuses(t *testing.T) {
	tc := requireCluster(t)
	img := testutil.MinimalImage(t)
	c := tc.connect(t, Options{Containerd: tc.containerd, TmpDir: t.TempDir()})
	c.UseImage(img)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.Driver("kata-nowhere", "kata-nowhere", tc.node(t, c)).Probe(ctx)
	if !errors.Is(err, driver.ErrNotSupported) || !strings.Contains(err.Error(), `no RuntimeClass "kata-nowhere"`) {
		t.Errorf("Probe of a missing RuntimeClass: %v, want not supported saying so", err)
	}
	_, err = c.Driver("runc", "runc", "isobench-no-such-node").Probe(ctx)
	if err == nil || !strings.Contains(err.Error(), "isobench-no-such-node") {
		t.Errorf("Probe on a missing node: %v", err)
	}
}

// TestImageNotOnNode checks that a start fails at once, saying what to do,
// when the image is on no node and may not be pulled.
func TestImageNotOnNode(t *testing.T) {
	tc := requireCluster(t)
	c := tc.connect(t, Options{}) // no Containerd: nothing is loaded
	img := &image.Image{ID: "isobench-test-never-loaded", Rootfs: "/nonexistent"}
	d := c.Driver("runc", "runc", tc.node(t, c))
	in, err := d.Create(context.Background(), driver.Spec{ID: driver.IDPrefix + "test-noimage-" + fmt.Sprint(time.Now().UnixNano()%1e9), Image: img})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := in.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := noLeftovers(c)(context.Background(), in.(*Instance).job.Annotations[AnnotationSandbox]); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	err = in.Start(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Start: %v after %s; want a failure before the timeout", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), "ErrImageNeverPull") || !strings.Contains(err.Error(), "load it") {
		t.Errorf("Start: %v; want ErrImageNeverPull and what to do", err)
	}
	t.Logf("after %s: %v", time.Since(start).Round(time.Millisecond), err)
}

// TestServerAcceptsJobs submits the Jobs NewJob makes, of every kind, to the
// API server with a dry run: the server validates them as it would a real
// submission, and nothing is made.
func TestServerAcceptsJobs(t *testing.T) {
	tc := requireCluster(t)
	c := tc.connect(t, Options{})
	node := tc.node(t, c)
	edits := map[string]func(*JobParams){
		"plain":     func(*JobParams) {},
		"volume":    func(p *JobParams) { p.Scratch = driver.ScratchVolume },
		"tmpfs":     func(p *JobParams) { p.Scratch = driver.ScratchTmpfs },
		"resources": func(p *JobParams) { p.CPUs, p.MemoryBytes = 1, 256<<20 },
		"no class":  func(p *JobParams) { p.RuntimeClass = "" },
		"odd id/labels": func(p *JobParams) {
			p.ID = "isobench-Odd_ID.x:" + strings.Repeat("y", 70)
			p.Labels[LabelRun] = "a b/c"
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			p := baseParams()
			p.Namespace, p.Node = c.opt.Namespace, node
			edit(&p)
			j, err := NewJob(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.cs.Jobs(p.Namespace).Create(context.Background(), j, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				t.Errorf("the API server refuses the Job: %v", err)
			}
		})
	}
}

// TestCollect checks gc against the cluster: a Job whose isobench is gone is
// removed with its pod; one of a live isobench, and what isobench did not
// make, are left.
func TestCollect(t *testing.T) {
	tc := requireCluster(t)
	img := testutil.MinimalImage(t)
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	dead := Owner{Host: self.Host, PID: deadPID(t), Start: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// A sandbox of a dead isobench, started, so that it has a pod.
	cDead := tc.connect(t, Options{Containerd: tc.containerd, TmpDir: t.TempDir(), Owner: dead})
	node := tc.node(t, cDead)
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e9)
	inDead, err := cDead.Driver("runc", "runc", node).Create(ctx, driver.Spec{ID: driver.IDPrefix + "test-gc-dead-" + suffix, Image: img})
	if err != nil {
		t.Fatal(err)
	}
	defer inDead.Close()
	if err := inDead.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// A live one: this test's own.
	cLive := tc.connect(t, Options{Containerd: tc.containerd, TmpDir: t.TempDir()})
	inLive, err := cLive.Driver("runc", "runc", node).Create(ctx, driver.Spec{ID: driver.IDPrefix + "test-gc-live-" + suffix, Image: img})
	if err != nil {
		t.Fatal(err)
	}
	defer inLive.Close()
	if err := inLive.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Not isobench's: the same labels but isobench.managed absent.
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "isobench-test-foreign-" + suffix, Labels: map[string]string{LabelRun: "x"}}}
	if _, err := cLive.cs.ConfigMaps(cLive.opt.Namespace).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer cLive.cs.ConfigMaps(cLive.opt.Namespace).Delete(context.Background(), foreign.Name, metav1.DeleteOptions{})

	done, err := cLive.Collect(ctx, self.Host, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("removed %q, kept %q", done.Removed, done.Kept)
	deadName, liveName := inDead.(*Instance).name, inLive.(*Instance).name
	if !containsWith(done.Removed, "job "+cLive.opt.Namespace+"/"+deadName) || !containsWith(done.Removed, "pod "+cLive.opt.Namespace+"/"+deadName) {
		t.Errorf("the dead isobench's Job and pod were not removed: %q", done.Removed)
	}
	if containsWith(done.Removed, liveName) || !containsWith(done.Kept, liveName) {
		t.Errorf("the live isobench's sandbox was not kept: removed %q kept %q", done.Removed, done.Kept)
	}
	left, err := waitGone(ctx, cLive, cLive.opt.Namespace, deadName, LabelID+"="+deadName)
	if err != nil || len(left) > 0 {
		t.Errorf("after gc, still there: %v %v", left, err)
	}
	if _, err := cLive.cs.ConfigMaps(cLive.opt.Namespace).Get(ctx, foreign.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("gc touched what isobench did not make: %v", err)
	}
	// The live sandbox still works.
	var out strings.Builder
	if err := inLive.Exec(ctx, []string{"/bin/sh", "-c", "echo alive"}, &out, nil); err != nil || out.String() != "alive\n" {
		t.Errorf("after gc, the live sandbox: %q, %v", out.String(), err)
	}
}

func containsWith(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
