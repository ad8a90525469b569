package kube

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
)

func baseParams() JobParams {
	return JobParams{
		ID: "isobench-20261128-152404-4bb7-12", Namespace: "bench",
		Image: "localhost/isobench-workload:abc", PullPolicy: corev1.PullNever,
		RuntimeClass: "runsc", Node: "node-a",
		Runtime: "runsc", Labels: map[string]string{LabelRun: "20261128-152404-4bb7", LabelSeq: "12", "other": "dropped"},
		Owner:    Owner{Host: "bench-host", PID: 4242, Start: 987654},
		Deadline: 90*time.Minute + 500*time.Millisecond, TTL: 10 * time.Minute,
	}
}

// TestNewJob checks the Job of each kind of sandbox field by field, as the
// cluster reads it: the one pod of a Job that never retries, with the
// RuntimeClass, pinned to its node, running the agent in init mode.
func TestNewJob(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*JobParams)
		check func(t *testing.T, j *batchv1.Job)
	}{
		{"defaults", func(*JobParams) {}, func(t *testing.T, j *batchv1.Job) {
			s := j.Spec
			if *s.Parallelism != 1 || *s.Completions != 1 || *s.BackoffLimit != 0 {
				t.Errorf("parallelism %d completions %d backoffLimit %d, want 1 1 0", *s.Parallelism, *s.Completions, *s.BackoffLimit)
			}
			if *s.ActiveDeadlineSeconds != 5401 {
				t.Errorf("activeDeadlineSeconds %d, want 5401 (90m0.5s rounded up)", *s.ActiveDeadlineSeconds)
			}
			if *s.TTLSecondsAfterFinished != 600 {
				t.Errorf("ttlSecondsAfterFinished %d, want 600", *s.TTLSecondsAfterFinished)
			}
			p := s.Template.Spec
			if p.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %s", p.RestartPolicy)
			}
			if p.RuntimeClassName == nil || *p.RuntimeClassName != "runsc" {
				t.Errorf("runtimeClassName %v, want runsc", p.RuntimeClassName)
			}
			if *p.AutomountServiceAccountToken || *p.EnableServiceLinks {
				t.Error("a trial's pod must not get a service account token or service links")
			}
			terms := p.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
			if len(terms) != 1 || len(terms[0].MatchFields) != 1 || terms[0].MatchFields[0].Key != "metadata.name" ||
				terms[0].MatchFields[0].Operator != corev1.NodeSelectorOpIn || strings.Join(terms[0].MatchFields[0].Values, ",") != "node-a" {
				t.Errorf("node affinity %+v, want metadata.name In [node-a]", terms)
			}
			if p.NodeName != "" {
				t.Errorf("nodeName %q set: pinning must go through the scheduler", p.NodeName)
			}
			if len(p.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(p.Containers))
			}
			c := p.Containers[0]
			if c.Name != ContainerName || c.Image != "localhost/isobench-workload:abc" || c.ImagePullPolicy != corev1.PullNever {
				t.Errorf("container %s image %s pull %s", c.Name, c.Image, c.ImagePullPolicy)
			}
			if strings.Join(c.Command, " ") != image.AgentPath+" init" {
				t.Errorf("command %q, want the agent in init mode", c.Command)
			}
			if len(c.Resources.Limits) != 0 || len(c.Resources.Requests) != 0 {
				t.Errorf("resources %+v, want none", c.Resources)
			}
			if len(p.Volumes) != 0 || len(c.VolumeMounts) != 0 {
				t.Errorf("rootfs scratch has volumes %+v", p.Volumes)
			}
			for _, m := range []map[string]string{j.Labels, j.Spec.Template.Labels} {
				want := map[string]string{LabelManaged: "true", LabelID: j.Name, LabelRun: "20261128-152404-4bb7", LabelSeq: "12", LabelRuntime: "runsc"}
				if len(m) != len(want) {
					t.Errorf("labels %v, want %v", m, want)
				}
				for k, v := range want {
					if m[k] != v {
						t.Errorf("label %s=%q, want %q", k, m[k], v)
					}
				}
			}
			if j.Annotations[AnnotationOwner] != "bench-host/4242/987654" || j.Annotations[AnnotationSandbox] != "isobench-20261128-152404-4bb7-12" {
				t.Errorf("annotations %v", j.Annotations)
			}
			if j.Spec.Template.Annotations[AnnotationOwner] == "" {
				t.Error("the pod has no owner annotation: gc could not judge a pod whose Job is gone")
			}
		}},
		{"resources", func(p *JobParams) { p.CPUs, p.MemoryBytes = 2, 512<<20 }, func(t *testing.T, j *batchv1.Job) {
			r := j.Spec.Template.Spec.Containers[0].Resources
			for _, rl := range []corev1.ResourceList{r.Requests, r.Limits} {
				if !rl.Cpu().Equal(resource.MustParse("2")) || !rl.Memory().Equal(resource.MustParse("512Mi")) {
					t.Errorf("resources %v, want cpu 2 memory 512Mi as requests and limits (Guaranteed)", rl)
				}
			}
		}},
		{"volume scratch", func(p *JobParams) { p.Scratch = driver.ScratchVolume }, func(t *testing.T, j *batchv1.Job) {
			checkScratch(t, j, "")
		}},
		{"tmpfs scratch", func(p *JobParams) { p.Scratch = driver.ScratchTmpfs }, func(t *testing.T, j *batchv1.Job) {
			checkScratch(t, j, corev1.StorageMediumMemory)
		}},
		{"no class, no node, pulled image", func(p *JobParams) {
			p.RuntimeClass, p.Node, p.PullPolicy, p.Deadline, p.TTL, p.Owner = "", "", corev1.PullIfNotPresent, 0, 0, Owner{}
		}, func(t *testing.T, j *batchv1.Job) {
			p := j.Spec.Template.Spec
			if p.RuntimeClassName != nil || p.Affinity != nil {
				t.Errorf("runtimeClassName %v affinity %v, want none", p.RuntimeClassName, p.Affinity)
			}
			if j.Spec.ActiveDeadlineSeconds != nil || j.Spec.TTLSecondsAfterFinished != nil {
				t.Error("deadline or TTL set though none was asked")
			}
			if _, ok := j.Annotations[AnnotationOwner]; ok {
				t.Error("owner annotation without an owner")
			}
		}},
		{"probe", func(p *JobParams) { p.Labels = nil }, func(t *testing.T, j *batchv1.Job) {
			if j.Labels[LabelRun] != "probe" {
				t.Errorf("run label %q, want probe", j.Labels[LabelRun])
			}
		}},
		{"odd id and labels", func(p *JobParams) {
			p.ID = "isobench-Run_With.Dots/and:colons-" + strings.Repeat("x", 80)
			p.Labels = map[string]string{LabelRun: "run with spaces/" + strings.Repeat("y", 70)}
			p.Runtime = "kata-qemu@node/a"
		}, func(t *testing.T, j *batchv1.Job) {
			if errs := validation.IsDNS1123Label(j.Name); len(errs) > 0 {
				t.Errorf("job name %q: %v", j.Name, errs)
			}
			for k, v := range j.Labels {
				if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
					t.Errorf("label %s=%q: %v", k, v, errs)
				}
			}
			if j.Annotations[AnnotationSandbox] != "isobench-Run_With.Dots/and:colons-"+strings.Repeat("x", 80) {
				t.Error("the sandbox id is not kept whole in its annotation")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := baseParams()
			tt.edit(&p)
			j, err := NewJob(p)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, j)
			roundTrip(t, j)
		})
	}
}

func checkScratch(t *testing.T, j *batchv1.Job, medium corev1.StorageMedium) {
	t.Helper()
	p := j.Spec.Template.Spec
	if len(p.Volumes) != 1 || p.Volumes[0].EmptyDir == nil || p.Volumes[0].EmptyDir.Medium != medium {
		t.Fatalf("volumes %+v, want one emptyDir of medium %q", p.Volumes, medium)
	}
	m := p.Containers[0].VolumeMounts
	if len(m) != 1 || m[0].MountPath != driver.ScratchPath || m[0].Name != p.Volumes[0].Name {
		t.Errorf("mounts %+v, want the volume at %s", m, driver.ScratchPath)
	}
	// gVisor's mount hints make a memory volume the sandbox's own tmpfs.
	hint := "dev.gvisor.spec.mount." + p.Volumes[0].Name + ".type"
	got := j.Spec.Template.Annotations[hint]
	if medium == corev1.StorageMediumMemory && got != "tmpfs" || medium != corev1.StorageMediumMemory && got != "" {
		t.Errorf("pod annotation %s = %q for medium %q", hint, got, medium)
	}
}

// roundTrip encodes the Job as the client sends it and decodes it with the
// API's scheme: what the cluster receives is what was built.
func roundTrip(t *testing.T, j *batchv1.Job) {
	t.Helper()
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newScheme()
	if err != nil {
		t.Fatal(err)
	}
	obj, gvk, err := serializer.NewCodecFactory(s).UniversalDeserializer().Decode(b, nil, nil)
	if err != nil {
		t.Fatalf("decoding the Job with the API scheme: %v\n%s", err, b)
	}
	if gvk.Group != "batch" || gvk.Version != "v1" || gvk.Kind != "Job" {
		t.Errorf("decoded as %v", gvk)
	}
	got := obj.(*batchv1.Job)
	if !equalJSON(t, got, j) {
		t.Errorf("the Job changed in a round trip through the API scheme")
	}
	var _ runtime.Object = got
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return string(ja) == string(jb)
}

// TestNewJobRefuses checks that what the API server would refuse is refused
// here, with the field named.
func TestNewJobRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*JobParams)
		want string
	}{
		{"no id", func(p *JobParams) { p.ID = "" }, "sandbox id"},
		{"no image", func(p *JobParams) { p.Image = "" }, "image"},
		{"negative cpus", func(p *JobParams) { p.CPUs = -1 }, "negative resources"},
		{"negative deadline", func(p *JobParams) { p.Deadline = -time.Second }, "negative deadline"},
		{"bad class", func(p *JobParams) { p.RuntimeClass = "Not_A_Name" }, "RuntimeClass name"},
		{"bad scratch", func(p *JobParams) { p.Scratch = "nfs" }, "scratch kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := baseParams()
			tt.edit(&p)
			_, err := NewJob(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one about %q", err, tt.want)
			}
		})
	}
}

func TestJobName(t *testing.T) {
	tests := []struct{ id, want string }{
		{"isobench-20261128-152404-4bb7-12", "isobench-20261128-152404-4bb7-12"},
		{"isobench-probe-0a1b2c3d", "isobench-probe-0a1b2c3d"},
	}
	for _, tt := range tests {
		if got := JobName(tt.id); got != tt.want {
			t.Errorf("JobName(%q) = %q, want %q (a valid name is kept)", tt.id, got, tt.want)
		}
	}
	// Ids that are not names become distinct valid names.
	seen := map[string]string{}
	for _, id := range []string{"ISOBENCH-x", "isobench-x_", "isobench-x.", "-", "", strings.Repeat("a", 64), strings.Repeat("a", 65), "isobench-Ä"} {
		n := JobName(id)
		if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
			t.Errorf("JobName(%q) = %q: %v", id, n, errs)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("JobName(%q) = JobName(%q) = %q", id, other, n)
		}
		seen[n] = id
	}
}

func FuzzLabelValue(f *testing.F) {
	for _, s := range []string{"", "20261128-152404-4bb7", "a b", "-x-", strings.Repeat("z", 70), "runsc@node/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := LabelValue(s)
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Errorf("LabelValue(%q) = %q: %v", s, v, errs)
		}
		if len(validation.IsValidLabelValue(s)) == 0 && v != s {
			t.Errorf("LabelValue changed the valid value %q to %q", s, v)
		}
	})
}
