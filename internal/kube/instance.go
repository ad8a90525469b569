package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
)

// closeTimeout bounds Close: deleting a sandbox's Job and pod and seeing
// them gone.
const closeTimeout = 2 * time.Minute

// Instance is one sandbox: a Job and its pod.
type Instance struct {
	d    *Driver
	job  *batchv1.Job
	name string // the Job's name, also its LabelID
	sel  string // label selector of the Job's pod

	mu        sync.Mutex
	started   bool
	submitted bool // the Job may exist in the cluster
	stopped   bool
	closed    bool
	pod       string
	node      string
	ready     agent.Ready
	// network: made with Spec.Network; podIP is the pod's IP once
	// started, link the route to it (see Network).
	network bool
	podIP   string
	link    *driver.Network
}

var _ driver.Instance = (*Instance)(nil)

// Create implements driver.Driver. Nothing is sent to the cluster until
// Start.
func (d *Driver) Create(ctx context.Context, spec driver.Spec) (driver.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case !strings.HasPrefix(spec.ID, driver.IDPrefix):
		return nil, fmt.Errorf("sandbox id %q does not start with %q", spec.ID, driver.IDPrefix)
	case strings.ContainsAny(spec.ID, "/ \t\n"):
		return nil, fmt.Errorf("sandbox id %q holds a slash or a space", spec.ID)
	case spec.Image == nil:
		return nil, fmt.Errorf("sandbox %s: no image", spec.ID)
	}
	if spec.Network {
		// The link is the cluster's pod network, as the probe found it
		// from this host.
		if why := d.networkRefused(); why != "" {
			return nil, driver.NotSupported(d.name, "no sandbox network reachable from this host: %s", why)
		}
	}
	ref, pull, err := d.c.image(ctx, spec.Image)
	if err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", spec.ID, err)
	}
	job, err := NewJob(JobParams{
		ID: spec.ID, Namespace: d.c.opt.Namespace,
		Image: ref, PullPolicy: pull,
		RuntimeClass: d.class, Node: d.node,
		Scratch: spec.Scratch, CPUs: spec.CPUs, MemoryBytes: spec.MemoryBytes,
		Runtime: d.name, Labels: spec.Labels, Owner: d.c.opt.Owner,
		Deadline: d.c.opt.Deadline, TTL: d.c.opt.TTL,
	})
	if err != nil {
		return nil, err
	}
	return &Instance{d: d, job: job, name: job.Name, sel: LabelID + "=" + job.Name, network: spec.Network}, nil
}

// Job returns the Job the instance submits (for inspection; do not change
// it).
func (i *Instance) Job() *batchv1.Job { return i.job }

// Node is the node the sandbox's pod runs on, once started.
func (i *Instance) Node() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.node
}

// Ready is the agent's Ready message, once started: it says the kernel the
// sandbox sees.
func (i *Instance) Ready() agent.Ready {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.ready
}

func (i *Instance) ns() string { return i.d.c.opt.Namespace }

// Start implements driver.Instance: it submits the Job, waits for its pod
// to run, and for the agent's Ready line in the pod's log.
func (i *Instance) Start(ctx context.Context) error {
	i.mu.Lock()
	if i.started || i.closed {
		i.mu.Unlock()
		return fmt.Errorf("sandbox %s: Start called twice or after Close", i.name)
	}
	i.started, i.submitted = true, true
	i.mu.Unlock()

	if _, err := i.d.c.cs.Jobs(i.ns()).Create(ctx, i.job, metav1.CreateOptions{FieldManager: "isobench"}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// Not ours to remove: another sandbox of the same id.
			i.mu.Lock()
			i.submitted = false
			i.mu.Unlock()
		}
		return fmt.Errorf("submitting Job %s/%s: %w", i.ns(), i.name, err)
	}
	pod, err := i.waitRunning(ctx)
	if err != nil {
		return err
	}
	rd, err := i.readReady(ctx, pod.Name)
	if err != nil {
		return i.startError(ctx, pod, err)
	}
	var link *driver.Network
	if i.network {
		if link, err = podLink(pod.Status.PodIP); err != nil {
			return i.startError(ctx, pod, fmt.Errorf("the sandbox network: %w", err))
		}
	}
	// Only a sandbox whose agent is ready takes commands.
	i.mu.Lock()
	i.pod, i.node, i.ready, i.podIP, i.link = pod.Name, pod.Spec.NodeName, rd, pod.Status.PodIP, link
	i.mu.Unlock()
	return nil
}

// fatalWaiting are the reasons a container waits for that retrying will
// not cure in a trial's time.
var fatalWaiting = map[string]string{
	"ErrImageNeverPull":          "the image is not on the node and may not be pulled: load it into the node's container runtime (isobench run --kube-containerd ADDRESS where the node is this machine, or ctr -n k8s.io images import of isobench kube image), or give --kube-image with a reference the node can pull",
	"ErrImagePull":               "the image cannot be pulled",
	"ImagePullBackOff":           "the image cannot be pulled",
	"InvalidImageName":           "the image reference is invalid",
	"CreateContainerConfigError": "",
	"CreateContainerError":       "",
	"RunContainerError":          "",
	"CrashLoopBackOff":           "",
}

// podState says whether a pod runs its container (true), cannot come to
// (an error), or is on its way (false, nil).
func podState(p *corev1.Pod) (bool, error) {
	if p.DeletionTimestamp != nil {
		return false, fmt.Errorf("pod %s is being deleted before it ran", p.Name)
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != ContainerName {
			continue
		}
		if w := cs.State.Waiting; w != nil {
			if hint, fatal := fatalWaiting[w.Reason]; fatal {
				msg := fmt.Sprintf("pod %s on node %s: container %s: %s: %s", p.Name, p.Spec.NodeName, cs.Name, w.Reason, clip(w.Message, 600))
				if hint != "" {
					msg += " (" + hint + ")"
				}
				return false, errors.New(msg)
			}
		}
		if t := cs.State.Terminated; t != nil {
			return false, fmt.Errorf("pod %s on node %s: the agent ended before it was ready: %s, exit code %d: %s", p.Name, p.Spec.NodeName, t.Reason, t.ExitCode, clip(t.Message, 600))
		}
		if cs.State.Running != nil && p.Status.Phase == corev1.PodRunning {
			return true, nil
		}
	}
	switch p.Status.Phase {
	case corev1.PodFailed, corev1.PodSucceeded:
		return false, fmt.Errorf("pod %s ended (%s) before the agent was ready: %s %s", p.Name, p.Status.Phase, p.Status.Reason, clip(p.Status.Message, 600))
	}
	return false, nil
}

// fatalEvents are the warnings about a Job or pod after which it will not
// run in a trial's time: the kubelet retries a pod sandbox that failed, but
// a retried sandbox is not the fresh one a trial measures.
var fatalEvents = map[string]bool{
	"FailedCreatePodSandBox": true, // the runtime handler could not make the sandbox
	"FailedCreate":           true, // the Job controller could not make the pod (admission)
	"Failed":                 true, // the kubelet could not run the container
}

// waitRunning waits for the Job's pod to run its container, watching the
// pods of the Job and, every second, the warnings about the Job and pod.
func (i *Instance) waitRunning(ctx context.Context) (*corev1.Pod, error) {
	pods := i.d.c.cs.Pods(i.ns())
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last *corev1.Pod
	for {
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: i.sel})
		if err != nil {
			return nil, i.startError(ctx, last, fmt.Errorf("listing the pods of Job %s: %w", i.name, err))
		}
		for k := range list.Items {
			p := &list.Items[k]
			last = p
			ok, err := podState(p)
			if err != nil {
				return nil, i.startError(ctx, p, err)
			}
			if ok {
				return p, nil
			}
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: i.sel, ResourceVersion: list.ResourceVersion})
		if err != nil {
			return nil, i.startError(ctx, last, fmt.Errorf("watching the pods of Job %s: %w", i.name, err))
		}
		p, err := i.watchPods(ctx, w, tick.C, &last)
		w.Stop()
		if err != nil {
			return nil, i.startError(ctx, last, err)
		}
		if p != nil {
			return p, nil
		}
		// The watch ended (the server's timeout): list again.
	}
}

func (i *Instance) watchPods(ctx context.Context, w watch.Interface, tick <-chan time.Time, last **corev1.Pod) (*corev1.Pod, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-tick:
			if err := i.fatalEvent(ctx, *last); err != nil {
				return nil, err
			}
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == watch.Error {
				return nil, nil
			}
			p, isPod := ev.Object.(*corev1.Pod)
			if !isPod {
				continue
			}
			*last = p
			if ev.Type == watch.Deleted {
				return nil, fmt.Errorf("pod %s was deleted before it ran", p.Name)
			}
			ok, err := podState(p)
			if err != nil || ok {
				return p, err
			}
		}
	}
}

// warnings lists the warning events about the Job and its pod, oldest
// first.
func (i *Instance) warnings(ctx context.Context, pod *corev1.Pod) ([]corev1.Event, error) {
	names := []string{i.name}
	if pod != nil {
		names = append(names, pod.Name)
	}
	var out []corev1.Event
	for _, n := range names {
		sel := fields.AndSelectors(fields.OneTermEqualSelector("involvedObject.name", n), fields.OneTermEqualSelector("type", corev1.EventTypeWarning))
		list, err := i.d.c.cs.Events(i.ns()).List(ctx, metav1.ListOptions{FieldSelector: sel.String()})
		if err != nil {
			return nil, fmt.Errorf("reading the events of %s: %w", n, err)
		}
		out = append(out, list.Items...)
	}
	sort.SliceStable(out, func(a, b int) bool { return eventTime(&out[a]).Before(eventTime(&out[b])) })
	return out, nil
}

func eventTime(e *corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// fatalEvent returns an error for the first warning after which the pod
// will not run.
func (i *Instance) fatalEvent(ctx context.Context, pod *corev1.Pod) error {
	evs, err := i.warnings(ctx, pod)
	if err != nil {
		// Events are advice; a cluster that hides them still runs pods.
		return nil
	}
	for _, e := range evs {
		if fatalEvents[e.Reason] {
			return fmt.Errorf("%s %s: %s: %s%s", strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, e.Reason, clip(e.Message, 800), waitingHint(e.Message))
		}
	}
	return nil
}

// waitingHint is " (what to do)" for the reason of fatalWaiting that an
// event's message names, or "". The kubelet's event about a container that
// cannot start ("Error: ErrImageNeverPull") may come before the pod's
// status says the same, and the error must say what to do either way.
func waitingHint(msg string) string {
	best := ""
	for reason, hint := range fatalWaiting {
		if hint != "" && len(reason) > len(best) && strings.Contains(msg, reason) {
			best = reason
		}
	}
	if best == "" {
		return ""
	}
	return " (" + fatalWaiting[best] + ")"
}

// startError adds to a failed start what the cluster said about the Job and
// its pod: the pod's phase and the warnings.
func (i *Instance) startError(ctx context.Context, pod *corev1.Pod, err error) error {
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var notes []string
	if pod != nil {
		where := pod.Spec.NodeName
		if where == "" {
			where = "no node yet"
		}
		notes = append(notes, fmt.Sprintf("pod %s %s (%s)", pod.Name, pod.Status.Phase, where))
	} else {
		notes = append(notes, "no pod was made")
	}
	if evs, werr := i.warnings(qctx, pod); werr == nil {
		seen := map[string]bool{}
		for _, e := range evs {
			m := e.Reason + ": " + clip(e.Message, 400)
			if !seen[m] && len(seen) < 4 {
				seen[m] = true
				notes = append(notes, m)
			}
		}
	}
	return fmt.Errorf("starting Job %s/%s (RuntimeClass %q): %w [%s]", i.ns(), i.name, i.d.class, err, strings.Join(notes, "; "))
}

// readReady follows the pod's log up to the agent's Ready line.
func (i *Instance) readReady(ctx context.Context, pod string) (agent.Ready, error) {
	limit := int64(maxLogLine)
	rc, err := i.d.c.cs.Pods(i.ns()).GetLogs(pod, &corev1.PodLogOptions{Container: ContainerName, Follow: true, LimitBytes: &limit}).Stream(ctx)
	if err != nil {
		return agent.Ready{}, fmt.Errorf("reading the log of pod %s: %w", pod, err)
	}
	defer rc.Close()
	rd, err := ReadyFromLog(rc)
	if err != nil {
		if ctx.Err() != nil {
			return rd, fmt.Errorf("waiting for the agent's Ready line in pod %s: %w", pod, context.Cause(ctx))
		}
		return rd, fmt.Errorf("pod %s: %w", pod, err)
	}
	return rd, nil
}

// Exec implements driver.Instance through the pods/exec subresource.
func (i *Instance) Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	i.mu.Lock()
	pod, stopped, closed := i.pod, i.stopped, i.closed
	i.mu.Unlock()
	if pod == "" || stopped || closed {
		return fmt.Errorf("sandbox %s does not run (Exec before Start, or after Stop or Close)", i.name)
	}
	if len(argv) == 0 {
		return errors.New("exec: empty command")
	}
	if stdout == nil {
		stdout = io.Discard
	}
	tail := &tailBuffer{max: 2000}
	var errw io.Writer = tail
	if stderr != nil {
		errw = io.MultiWriter(stderr, tail)
	}
	req := i.d.c.cs.Pods(i.ns()).Exec(pod, &corev1.PodExecOptions{Container: ContainerName, Command: argv, Stdout: true, Stderr: true})
	ex, err := executor(i.d.c, req.URL())
	if err != nil {
		return err
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: errw})
	if err == nil {
		return nil
	}
	var ee utilexec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return &driver.ExitError{Code: ee.ExitStatus(), Stderr: tail.String()}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("exec in pod %s: %w", pod, context.Cause(ctx))
	}
	return fmt.Errorf("exec in pod %s: %w", pod, err)
}

// executor streams over WebSocket, falling back to SPDY for servers that
// do not upgrade to it, as kubectl does.
func executor(c *Cluster, u *url.URL) (remotecommand.Executor, error) {
	ws, err := remotecommand.NewWebSocketExecutor(c.rest, "GET", u.String())
	if err != nil {
		return nil, fmt.Errorf("exec client: %w", err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.rest, "POST", u)
	if err != nil {
		return nil, fmt.Errorf("exec client: %w", err)
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
}

// Stop implements driver.Instance: it deletes the Job and its pod, which
// the kubelet stops gracefully (the agent ends at SIGTERM). It does not
// wait for them to go; Close does.
func (i *Instance) Stop(ctx context.Context) error {
	i.mu.Lock()
	if !i.submitted || i.stopped {
		i.mu.Unlock()
		return nil
	}
	i.mu.Unlock()
	if err := i.delete(ctx, nil); err != nil {
		return err
	}
	i.mu.Lock()
	i.stopped = true
	i.mu.Unlock()
	return nil
}

// delete removes the Job and then its pods (the Job first, so that its
// controller makes no other), with the given grace period (nil for the
// pod's own).
func (i *Instance) delete(ctx context.Context, grace *int64) error {
	bg := metav1.DeletePropagationBackground
	err := i.d.c.cs.Jobs(i.ns()).Delete(ctx, i.name, metav1.DeleteOptions{PropagationPolicy: &bg, GracePeriodSeconds: grace})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Job %s/%s: %w", i.ns(), i.name, err)
	}
	return deletePods(ctx, i.d.c, i.ns(), i.sel, grace)
}

// deletePods deletes the pods that sel selects in ns.
func deletePods(ctx context.Context, c *Cluster, ns, sel string, grace *int64) error {
	pods := c.cs.Pods(ns)
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("listing pods %s: %w", sel, err)
	}
	var errs []error
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil && grace == nil {
			continue
		}
		err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: grace, Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("deleting pod %s/%s: %w", ns, p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Close implements driver.Instance: it deletes what Stop did not (with a
// grace period of a second) and waits until the Job and its pod are gone
// from the cluster, so that the next trial on the node starts alone. The
// kubelet removes a pod gracefully deleted only once its containers, its
// sandbox's processes and its cgroup are gone from the node; a forced
// deletion (grace period 0) would remove it from the API at once, with the
// node still tearing it down. It reports what is still there after
// closeTimeout.
func (i *Instance) Close() error {
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		return nil
	}
	i.closed = true
	submitted, stopped := i.submitted, i.stopped
	i.mu.Unlock()
	if !submitted {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var errDel error
	if !stopped {
		errDel = i.delete(ctx, ptr(int64(1)))
	}
	left, err := waitGone(ctx, i.d.c, i.ns(), i.name, i.sel)
	if err == nil && len(left) == 0 {
		return nil
	}
	if err == nil {
		// Still there: the node did not finish. Ask again, at once, and
		// wait the rest of the time.
		_ = i.delete(ctx, ptr(int64(1)))
		left, err = waitGone(ctx, i.d.c, i.ns(), i.name, i.sel)
	}
	if err != nil || len(left) > 0 {
		return errors.Join(errDel, fmt.Errorf("sandbox %s: still in the cluster after %s: %s", i.name, closeTimeout, strings.Join(left, ", ")), err)
	}
	return nil
}

// waitGone waits until the Job name and the pods sel selects are gone, and
// returns what is left when ctx ends first (half of its time is left for a
// second try).
func waitGone(ctx context.Context, c *Cluster, ns, job, sel string) ([]string, error) {
	deadline, ok := ctx.Deadline()
	if ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(deadline)/2))
		defer cancel()
	}
	delay := 50 * time.Millisecond
	for {
		var left []string
		_, err := c.cs.Jobs(ns).Get(ctx, job, metav1.GetOptions{})
		switch {
		case err == nil:
			left = append(left, "job/"+job)
		case !apierrors.IsNotFound(err):
			if ctx.Err() != nil {
				return []string{"job/" + job + " (unknown)"}, nil
			}
			return nil, fmt.Errorf("reading Job %s/%s: %w", ns, job, err)
		}
		list, err := c.cs.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			if ctx.Err() != nil {
				return append(left, "pods "+sel+" (unknown)"), nil
			}
			return nil, fmt.Errorf("listing pods %s: %w", sel, err)
		}
		for _, p := range list.Items {
			left = append(left, "pod/"+p.Name+" ("+string(p.Status.Phase)+")")
		}
		if len(left) == 0 {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return left, nil
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return agent.Printable(strings.TrimSpace(string(t.b))) }
