package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
)

// Labels and annotations on everything isobench makes in a cluster.
const (
	// LabelManaged is "true" on every Job and pod isobench makes.
	LabelManaged = "isobench.managed"
	// LabelRun is the run's id ("probe" for a runtime's probe).
	LabelRun = "isobench.run"
	// LabelSeq is the trial's position in the run's order.
	LabelSeq = "isobench.seq"
	// LabelID is the sandbox's name: the Job's, and its pod's selector.
	LabelID = "isobench.id"
	// LabelRuntime is the runtime's name in the run.
	LabelRuntime = "isobench.runtime"
	// AnnotationOwner says which isobench process made the object, as
	// Owner.String writes it.
	AnnotationOwner = "isobench.owner"
	// AnnotationSandbox is the sandbox id the runner gave (driver.Spec.ID).
	AnnotationSandbox = "isobench.sandbox"
)

// ContainerName is the name of the one container of every pod.
const ContainerName = "agent"

// defaultPath is the PATH of the agent and the commands it runs, as the
// host's container drivers set it.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// JobParams says what Job to make for one sandbox.
type JobParams struct {
	// ID is the sandbox id (driver.Spec.ID); the Job's name is made from it.
	ID        string
	Namespace string
	// Image is the reference of the workload image on the nodes.
	Image      string
	PullPolicy corev1.PullPolicy
	// RuntimeClass is the RuntimeClass's name; "" uses the cluster's default
	// handler.
	RuntimeClass string
	// Node pins the pod to the node of that name; "" lets the scheduler
	// choose.
	Node string
	// Scratch is a driver.Scratch* kind; "" means driver.ScratchRootfs.
	Scratch string
	// CPUs and MemoryBytes become the container's requests and limits (so
	// the pod is of the Guaranteed class); 0 means none.
	CPUs        int
	MemoryBytes int64
	// Runtime is the runtime's name in the run, and Labels the runner's
	// labels (driver.Spec.Labels), kept where they are valid label values.
	Runtime string
	Labels  map[string]string
	Owner   Owner
	// Deadline bounds the Job's life in the cluster (activeDeadlineSeconds):
	// the cluster ends it even if isobench never comes back. TTL is how long
	// the cluster keeps the Job once it ended. Zero means none.
	Deadline time.Duration
	TTL      time.Duration
}

// JobName makes a Job name (a DNS-1123 label of at most 63 characters)
// from a sandbox id. An id that is one already is kept; any other is made
// lower case, with '-' for other characters, cut short, and ended with a
// digest of the whole id so that two ids never share a name.
func JobName(id string) string {
	if len(validation.IsDNS1123Label(id)) == 0 {
		return id
	}
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	sum := sha256.Sum256([]byte(id))
	suffix := hex.EncodeToString(sum[:])[:10]
	base := b.String()
	if room := validation.DNS1123LabelMaxLength - len(suffix) - 1; len(base) > room {
		base = base[:room]
	}
	base = strings.Trim(base, "-")
	if base == "" {
		return "isobench-" + suffix
	}
	return base + "-" + suffix
}

// LabelValue makes a valid label value of s: at most 63 characters of
// [A-Za-z0-9._-], starting and ending with an alphanumeric one; a value
// that had to change ends with a digest of the original.
func LabelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(s))
	suffix := "-" + hex.EncodeToString(sum[:])[:10]
	v := b.String()
	if len(v) > validation.LabelValueMaxLength-len(suffix) {
		v = v[:validation.LabelValueMaxLength-len(suffix)]
	}
	v = strings.TrimLeft(v+suffix, "._-")
	return v
}

// NewJob makes the Job of one sandbox. It checks what the API server would
// refuse about names and labels, so a bad value is an error here that
// says which.
func NewJob(p JobParams) (*batchv1.Job, error) {
	if p.ID == "" {
		return nil, errors.New("kube: job without a sandbox id")
	}
	if p.Image == "" {
		return nil, errors.New("kube: job without an image reference")
	}
	if p.CPUs < 0 || p.MemoryBytes < 0 {
		return nil, fmt.Errorf("kube: negative resources (%d CPUs, %d bytes)", p.CPUs, p.MemoryBytes)
	}
	if p.Deadline < 0 || p.TTL < 0 {
		return nil, fmt.Errorf("kube: negative deadline %s or TTL %s", p.Deadline, p.TTL)
	}
	name := JobName(p.ID)
	labels := map[string]string{
		LabelManaged: "true",
		LabelID:      name,
		LabelRun:     "probe",
	}
	for _, k := range sortedKeys(p.Labels) {
		if k == LabelRun || k == LabelSeq {
			labels[k] = LabelValue(p.Labels[k])
		}
	}
	if p.Runtime != "" {
		labels[LabelRuntime] = LabelValue(p.Runtime)
	}
	for k, v := range labels {
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("kube: label %s=%q: %s", k, v, strings.Join(errs, "; "))
		}
	}
	if p.RuntimeClass != "" {
		if errs := validation.IsDNS1123Subdomain(p.RuntimeClass); len(errs) > 0 {
			return nil, fmt.Errorf("kube: RuntimeClass name %q: %s", p.RuntimeClass, strings.Join(errs, "; "))
		}
	}
	annotations := map[string]string{AnnotationSandbox: p.ID}
	if !p.Owner.IsZero() {
		annotations[AnnotationOwner] = p.Owner.String()
	}

	container := corev1.Container{
		Name:            ContainerName,
		Image:           p.Image,
		ImagePullPolicy: p.PullPolicy,
		Command:         []string{image.AgentPath, "init"},
		Env:             []corev1.EnvVar{{Name: "PATH", Value: defaultPath}},
		WorkingDir:      "/",
		// The agent's Ready line is the log; a message file is not needed.
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	if p.CPUs > 0 || p.MemoryBytes > 0 {
		rl := corev1.ResourceList{}
		if p.CPUs > 0 {
			rl[corev1.ResourceCPU] = *resource.NewQuantity(int64(p.CPUs), resource.DecimalSI)
		}
		if p.MemoryBytes > 0 {
			rl[corev1.ResourceMemory] = *resource.NewQuantity(p.MemoryBytes, resource.BinarySI)
		}
		container.Resources = corev1.ResourceRequirements{Requests: rl, Limits: rl.DeepCopy()}
	}
	var volumes []corev1.Volume
	podAnnotations := copyMap(annotations)
	switch p.Scratch {
	case "", driver.ScratchRootfs:
		// The image has the directory; files land in the container's
		// writable layer.
	case driver.ScratchVolume, driver.ScratchTmpfs:
		src := corev1.EmptyDirVolumeSource{}
		if p.Scratch == driver.ScratchTmpfs {
			src.Medium = corev1.StorageMediumMemory
			// gVisor serves a volume through its gofer unless told the
			// volume is the container's alone: then a memory volume is a
			// tmpfs of the sandbox's own kernel, as the host drivers make
			// it. Other runtimes ignore these mount hints.
			for k, v := range gvisorTmpfsHints(scratchVolume) {
				podAnnotations[k] = v
			}
		}
		volumes = append(volumes, corev1.Volume{Name: scratchVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &src}})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{Name: scratchVolume, MountPath: driver.ScratchPath})
	default:
		return nil, fmt.Errorf("kube: unknown scratch kind %q (want %s, %s or %s)", p.Scratch, driver.ScratchRootfs, driver.ScratchVolume, driver.ScratchTmpfs)
	}

	pod := corev1.PodSpec{
		Containers:                    []corev1.Container{container},
		Volumes:                       volumes,
		RestartPolicy:                 corev1.RestartPolicyNever,
		TerminationGracePeriodSeconds: ptr(int64(5)),
		AutomountServiceAccountToken:  ptr(false),
		EnableServiceLinks:            ptr(false),
		// No cluster DNS is needed, and none may exist.
		DNSPolicy: corev1.DNSDefault,
	}
	if p.RuntimeClass != "" {
		pod.RuntimeClassName = ptr(p.RuntimeClass)
	}
	if p.Node != "" {
		// Pinned through the scheduler (not spec.nodeName), so that the
		// RuntimeClass's scheduling rules and the node's resources count.
		pod.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchFields: []corev1.NodeSelectorRequirement{{
						Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{p.Node},
					}},
				}},
			},
		}}
	}
	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: p.Namespace,
			Labels: labels, Annotations: annotations,
		},
		Spec: batchv1.JobSpec{
			Parallelism:  ptr(int32(1)),
			Completions:  ptr(int32(1)),
			BackoffLimit: ptr(int32(0)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyMap(labels), Annotations: podAnnotations},
				Spec:       pod,
			},
		},
	}
	if p.Deadline > 0 {
		job.Spec.ActiveDeadlineSeconds = ptr(ceilSeconds(p.Deadline))
	}
	if p.TTL > 0 {
		job.Spec.TTLSecondsAfterFinished = ptr(int32(min(ceilSeconds(p.TTL), math.MaxInt32)))
	}
	return job, nil
}

// scratchVolume names the pod's scratch volume.
const scratchVolume = "scratch"

// gvisorTmpfsHints are gVisor's mount hints (pod annotations its containerd
// shim reads) that make a memory volume a tmpfs inside the sandbox.
func gvisorTmpfsHints(volume string) map[string]string {
	p := "dev.gvisor.spec.mount." + volume + "."
	return map[string]string{p + "share": "container", p + "type": "tmpfs", p + "options": "rw"}
}

func ceilSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
