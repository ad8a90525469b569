package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// client is the part of the Kubernetes API that isobench uses: core/v1
// (nodes, pods with their logs and exec, events, config maps), batch/v1
// (Jobs) and node/v1 (RuntimeClasses), through REST clients over a scheme
// that holds these three groups only. client-go's clientset and its typed
// clients register every API group of Kubernetes (their scheme package),
// with apply configurations and OpenAPI discovery: 39 MB of a 96 MB
// binary, for three groups.
type client struct {
	scheme *runtime.Scheme
	codecs serializer.CodecFactory
	params runtime.ParameterCodec
	core   rest.Interface // /api/v1
	batch  rest.Interface // /apis/batch/v1
	node   rest.Interface // /apis/node.k8s.io/v1
}

// newScheme returns a scheme that holds the API groups client uses, and
// the unversioned meta types (options, Status, watch events) as
// client-go's own scheme registers them.
func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, batchv1.AddToScheme, nodev1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("kube: building the API scheme: %w", err)
		}
	}
	return s, nil
}

// newClient makes a client of the cluster cfg names. Its three REST
// clients share one HTTP client (one connection pool) and one rate limit,
// as a clientset's groups do.
func newClient(cfg *rest.Config) (*client, error) {
	s, err := newScheme()
	if err != nil {
		return nil, err
	}
	c := &client{scheme: s, codecs: serializer.NewCodecFactory(s), params: runtime.NewParameterCodec(s)}
	base := rest.CopyConfig(cfg)
	if base.UserAgent == "" {
		base.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if base.RateLimiter == nil && base.QPS > 0 {
		if base.Burst <= 0 {
			return nil, fmt.Errorf("kube: a rate limit of %g requests per second needs a burst above zero", base.QPS)
		}
		base.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(base.QPS, base.Burst)
	}
	hc, err := rest.HTTPClientFor(base)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	groups := []struct {
		rc      *rest.Interface
		apiPath string
		gv      schema.GroupVersion
	}{
		{&c.core, "/api", corev1.SchemeGroupVersion},
		{&c.batch, "/apis", batchv1.SchemeGroupVersion},
		{&c.node, "/apis", nodev1.SchemeGroupVersion},
	}
	for _, g := range groups {
		gcfg := rest.CopyConfig(base)
		gv := g.gv
		gcfg.GroupVersion = &gv
		gcfg.APIPath = g.apiPath
		gcfg.NegotiatedSerializer = c.codecs.WithoutConversion()
		rc, err := rest.RESTClientForConfigAndClient(gcfg, hc)
		if err != nil {
			return nil, fmt.Errorf("kubernetes client for %s: %w", gv, err)
		}
		*g.rc = rc
	}
	return c, nil
}

// ServerVersion asks the API server its version.
func (c *client) ServerVersion(ctx context.Context) (*version.Info, error) {
	body, err := c.core.Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var info version.Info
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("parsing the server's version: %w", err)
	}
	return &info, nil
}

// Nodes are the cluster's nodes.
func (c *client) Nodes() objects[*corev1.Node, *corev1.NodeList] {
	return newObjects(c, c.core, "", "nodes", func() *corev1.Node { return new(corev1.Node) }, func() *corev1.NodeList { return new(corev1.NodeList) })
}

// Pods are the pods of namespace ns.
func (c *client) Pods(ns string) pods {
	return pods{newObjects(c, c.core, ns, "pods", func() *corev1.Pod { return new(corev1.Pod) }, func() *corev1.PodList { return new(corev1.PodList) })}
}

// Events are the events of namespace ns.
func (c *client) Events(ns string) objects[*corev1.Event, *corev1.EventList] {
	return newObjects(c, c.core, ns, "events", func() *corev1.Event { return new(corev1.Event) }, func() *corev1.EventList { return new(corev1.EventList) })
}

// ConfigMaps are the config maps of namespace ns.
func (c *client) ConfigMaps(ns string) objects[*corev1.ConfigMap, *corev1.ConfigMapList] {
	return newObjects(c, c.core, ns, "configmaps", func() *corev1.ConfigMap { return new(corev1.ConfigMap) }, func() *corev1.ConfigMapList { return new(corev1.ConfigMapList) })
}

// Jobs are the Jobs of namespace ns.
func (c *client) Jobs(ns string) objects[*batchv1.Job, *batchv1.JobList] {
	return newObjects(c, c.batch, ns, "jobs", func() *batchv1.Job { return new(batchv1.Job) }, func() *batchv1.JobList { return new(batchv1.JobList) })
}

// RuntimeClasses are the cluster's RuntimeClasses.
func (c *client) RuntimeClasses() objects[*nodev1.RuntimeClass, *nodev1.RuntimeClassList] {
	return newObjects(c, c.node, "", "runtimeclasses", func() *nodev1.RuntimeClass { return new(nodev1.RuntimeClass) }, func() *nodev1.RuntimeClassList { return new(nodev1.RuntimeClassList) })
}

// objects are one kind of object (T, listed as L) of one API group, in one
// namespace ("" for a kind of the whole cluster): the calls a typed client
// makes, for the verbs isobench uses.
type objects[T, L runtime.Object] struct {
	rc       rest.Interface
	params   runtime.ParameterCodec
	ns, name string
	newObj   func() T
	newList  func() L
}

func newObjects[T, L runtime.Object](c *client, rc rest.Interface, ns, name string, newObj func() T, newList func() L) objects[T, L] {
	return objects[T, L]{rc: rc, params: c.params, ns: ns, name: name, newObj: newObj, newList: newList}
}

// timeout is the request's timeout that a list or watch asks for.
func timeout(opts metav1.ListOptions) time.Duration {
	if opts.TimeoutSeconds == nil {
		return 0
	}
	return time.Duration(*opts.TimeoutSeconds) * time.Second
}

func (r objects[T, L]) Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error) {
	out := r.newObj()
	err := r.rc.Get().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).Name(name).
		VersionedParams(&opts, r.params).Do(ctx).Into(out)
	return out, err
}

func (r objects[T, L]) List(ctx context.Context, opts metav1.ListOptions) (L, error) {
	out := r.newList()
	err := r.rc.Get().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).
		VersionedParams(&opts, r.params).Timeout(timeout(opts)).Do(ctx).Into(out)
	return out, err
}

func (r objects[T, L]) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return r.rc.Get().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).
		VersionedParams(&opts, r.params).Timeout(timeout(opts)).Watch(ctx)
}

func (r objects[T, L]) Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error) {
	out := r.newObj()
	err := r.rc.Post().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).
		VersionedParams(&opts, r.params).Body(obj).Do(ctx).Into(out)
	return out, err
}

func (r objects[T, L]) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return r.rc.Delete().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).Name(name).
		Body(&opts).Do(ctx).Error()
}

// pods adds the subresources of a pod that isobench uses: its log and
// exec.
type pods struct {
	objects[*corev1.Pod, *corev1.PodList]
}

// GetLogs is the request for a container's log in the pod name.
func (p pods) GetLogs(name string, opts *corev1.PodLogOptions) *rest.Request {
	return p.rc.Get().Namespace(p.ns).Resource("pods").Name(name).SubResource("log").VersionedParams(opts, p.params)
}

// Exec is the request that runs a command in the pod name (see
// remotecommand for its streams).
func (p pods) Exec(name string, opts *corev1.PodExecOptions) *rest.Request {
	return p.rc.Post().Namespace(p.ns).Resource("pods").Name(name).SubResource("exec").VersionedParams(opts, p.params)
}
