package kube

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// fakeAPI answers the requests of client as an API server would, with
// the objects of its table, and records what was asked.
type fakeAPI struct {
	mu   sync.Mutex
	reqs []string // "METHOD path?query"
	body []string // the requests' bodies
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	f.body = append(f.body, string(b))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	q := r.URL.Query()
	switch p := r.URL.Path; {
	case p == "/version":
		reply(map[string]string{"gitVersion": "v1.34.4", "major": "1", "minor": "34"})
	case q.Get("watch") == "true":
		reply(map[string]any{"type": "ADDED", "object": map[string]any{
			"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p-1"}, "status": map[string]any{"phase": "Running"}}})
	case p == "/api/v1/nodes/node-a":
		reply(map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{"name": "node-a"}})
	case p == "/api/v1/namespaces/bench/pods":
		reply(map[string]any{"apiVersion": "v1", "kind": "PodList", "metadata": map[string]any{"resourceVersion": "7"},
			"items": []any{map[string]any{"metadata": map[string]any{"name": "p-1"}}}})
	case p == "/api/v1/namespaces/bench/pods/p-1/log":
		_, _ = io.WriteString(w, "a log line\n")
	case p == "/apis/node.k8s.io/v1/runtimeclasses":
		reply(map[string]any{"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClassList",
			"items": []any{map[string]any{"metadata": map[string]any{"name": "runsc"}, "handler": "runsc"}}})
	case p == "/apis/batch/v1/namespaces/bench/jobs" && r.Method == http.MethodPost:
		_, _ = w.Write(b)
	case p == "/apis/batch/v1/namespaces/bench/jobs/gone":
		w.WriteHeader(http.StatusNotFound)
		reply(map[string]any{"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404,
			"message": `jobs.batch "gone" not found`, "details": map[string]any{"name": "gone", "group": "batch", "kind": "jobs"}})
	case p == "/apis/batch/v1/namespaces/bench/jobs/j-1" && r.Method == http.MethodDelete:
		reply(map[string]any{"apiVersion": "v1", "kind": "Status", "status": "Success"})
	default:
		w.WriteHeader(http.StatusTeapot)
	}
}

func (f *fakeAPI) last() (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1], f.body[len(f.body)-1]
}

// TestClient checks that each call of client asks the API server what a
// clientset's typed client asks (method, path, parameters, body) and
// decodes its answer.
func TestClient(t *testing.T) {
	f := &fakeAPI{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, err := newClient(&rest.Config{Host: srv.URL, QPS: 50, Burst: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bg := metav1.DeletePropagationBackground
	tests := []struct {
		name     string
		call     func() error
		want     string // method, path and the query's parameters in order
		wantBody string // a part of the request's body
	}{
		{"version", func() error {
			v, err := c.ServerVersion(ctx)
			if err == nil && v.GitVersion != "v1.34.4" {
				t.Errorf("version %q", v.GitVersion)
			}
			return err
		}, "GET /version?", ""},
		{"get node", func() error {
			n, err := c.Nodes().Get(ctx, "node-a", metav1.GetOptions{})
			if err == nil && n.Name != "node-a" {
				t.Errorf("node %q", n.Name)
			}
			return err
		}, "GET /api/v1/nodes/node-a?", ""},
		{"list pods", func() error {
			l, err := c.Pods("bench").List(ctx, metav1.ListOptions{LabelSelector: "isobench.id=x"})
			if err == nil && (len(l.Items) != 1 || l.Items[0].Name != "p-1" || l.ResourceVersion != "7") {
				t.Errorf("pods %+v", l)
			}
			return err
		}, "GET /api/v1/namespaces/bench/pods?labelSelector=isobench.id%3Dx", ""},
		{"watch pods", func() error {
			w, err := c.Pods("bench").Watch(ctx, metav1.ListOptions{LabelSelector: "a=b", ResourceVersion: "7"})
			if err != nil {
				return err
			}
			defer w.Stop()
			ev := <-w.ResultChan()
			if p, ok := ev.Object.(*corev1.Pod); ev.Type != watch.Added || !ok || p.Name != "p-1" || p.Status.Phase != corev1.PodRunning {
				t.Errorf("watch event %v %#v", ev.Type, ev.Object)
			}
			return nil
		}, "GET /api/v1/namespaces/bench/pods?labelSelector=a%3Db&resourceVersion=7&watch=true", ""},
		{"pod log", func() error {
			limit := int64(100)
			rc, err := c.Pods("bench").GetLogs("p-1", &corev1.PodLogOptions{Container: ContainerName, Follow: true, LimitBytes: &limit}).Stream(ctx)
			if err != nil {
				return err
			}
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			if string(b) != "a log line\n" {
				t.Errorf("log %q", b)
			}
			return nil
		}, "GET /api/v1/namespaces/bench/pods/p-1/log?container=" + ContainerName + "&follow=true&limitBytes=100", ""},
		{"exec url", func() error {
			u := c.Pods("bench").Exec("p-1", &corev1.PodExecOptions{Container: ContainerName, Command: []string{"echo", "hi"}, Stdout: true, Stderr: true}).URL()
			want := "/api/v1/namespaces/bench/pods/p-1/exec?command=echo&command=hi&container=" + ContainerName + "&stderr=true&stdout=true"
			if got := u.Path + "?" + u.RawQuery; got != want {
				t.Errorf("exec URL %s, want %s", got, want)
			}
			return nil
		}, "", ""},
		{"list runtime classes", func() error {
			l, err := c.RuntimeClasses().List(ctx, metav1.ListOptions{})
			if err == nil && (len(l.Items) != 1 || l.Items[0].Handler != "runsc") {
				t.Errorf("runtime classes %+v", l.Items)
			}
			return err
		}, "GET /apis/node.k8s.io/v1/runtimeclasses?", ""},
		{"create job", func() error {
			j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j-1"}}
			got, err := c.Jobs("bench").Create(ctx, j, metav1.CreateOptions{FieldManager: "isobench"})
			if err == nil && got.Name != "j-1" {
				t.Errorf("created %q", got.Name)
			}
			return err
		}, "POST /apis/batch/v1/namespaces/bench/jobs?fieldManager=isobench", `"kind":"Job","apiVersion":"batch/v1"`},
		{"delete job", func() error {
			return c.Jobs("bench").Delete(ctx, "j-1", metav1.DeleteOptions{PropagationPolicy: &bg})
		}, "DELETE /apis/batch/v1/namespaces/bench/jobs/j-1?", `"propagationPolicy":"Background"`},
		{"job not found", func() error {
			_, err := c.Jobs("bench").Get(ctx, "gone", metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("getting a missing Job: %v, want a NotFound error", err)
			}
			return nil
		}, "GET /apis/batch/v1/namespaces/bench/jobs/gone?", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				return
			}
			req, body := f.last()
			if got := canonicalQuery(t, req); got != tt.want {
				t.Errorf("request %s, want %s", got, tt.want)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("request body %s, want it to hold %s", body, tt.wantBody)
			}
		})
	}
}

// canonicalQuery sorts the query of "METHOD path?query" by parameter.
func canonicalQuery(t *testing.T, req string) string {
	t.Helper()
	path, query, _ := strings.Cut(req, "?")
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	return path + "?" + v.Encode()
}

// TestScheme checks that the client's scheme knows every kind the client
// reads, in its group and version.
func TestScheme(t *testing.T) {
	s, err := newScheme()
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range []runtime.Object{
		&corev1.Node{}, &corev1.NodeList{}, &corev1.Pod{}, &corev1.PodList{}, &corev1.Event{}, &corev1.EventList{},
		&corev1.ConfigMap{}, &corev1.ConfigMapList{}, &batchv1.Job{}, &batchv1.JobList{},
		&nodev1.RuntimeClass{}, &nodev1.RuntimeClassList{}, &metav1.Status{}, &metav1.WatchEvent{},
	} {
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil || len(gvks) == 0 {
			t.Errorf("%T: not in the scheme (%v)", obj, err)
		}
	}
}

func TestWaitingHint(t *testing.T) {
	for _, tc := range []struct {
		msg, want string // want: a part of the hint, "" for none
	}{
		{"Error: ErrImageNeverPull", "load it into the node's container runtime"},
		{"Error: ErrImagePull", "the image cannot be pulled"},
		{"Back-off pulling image: ImagePullBackOff", "the image cannot be pulled"},
		{"Error: CreateContainerError", ""}, // no hint to give
		{"Failed to create pod sandbox: runtime handler not found", ""},
	} {
		got := waitingHint(tc.msg)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("waitingHint(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}
