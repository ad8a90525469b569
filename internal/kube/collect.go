package kube

import (
	"context"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Collected says what Collect did.
type Collected struct {
	// Removed has a line for each Job or pod removed.
	Removed []string
	// Kept has a line for each one left, with the reason.
	Kept []string
}

// Collect removes from the cluster's namespace the Jobs and pods isobench
// made (labelled LabelManaged=true) that nothing uses any more: those whose
// owner, an isobench process on host (this machine), no longer runs, and
// those that ended. Those of a live owner are left, and so are those of an
// owner on another host unless anyHost is set (the owner's liveness cannot
// be checked from here). Nothing without the label is looked at.
func (c *Cluster) Collect(ctx context.Context, host string, anyHost bool) (Collected, error) {
	var out Collected
	ns := c.opt.Namespace
	sel := LabelManaged + "=true"
	jobs, err := c.cs.Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return out, fmt.Errorf("listing isobench's Jobs in %s: %w", ns, err)
	}
	var errs []error
	bg := metav1.DeletePropagationBackground
	zero := int64(0)
	for _, j := range jobs.Items {
		why, remove := c.collectable(j.ObjectMeta, jobEnded(&j), host, anyHost)
		if !remove {
			out.Kept = append(out.Kept, fmt.Sprintf("job %s/%s: %s", ns, j.Name, why))
			continue
		}
		err := c.cs.Jobs(ns).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: &bg, GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &j.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting job %s/%s: %w", ns, j.Name, err))
			continue
		}
		out.Removed = append(out.Removed, fmt.Sprintf("removed job %s/%s (%s)", ns, j.Name, why))
	}
	// Pods: those of the Jobs just removed, and any whose Job is gone.
	pods, err := c.cs.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return out, errors.Join(append(errs, fmt.Errorf("listing isobench's pods in %s: %w", ns, err))...)
	}
	for _, p := range pods.Items {
		ended := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		why, remove := c.collectable(p.ObjectMeta, ended, host, anyHost)
		if !remove {
			out.Kept = append(out.Kept, fmt.Sprintf("pod %s/%s: %s", ns, p.Name, why))
			continue
		}
		err := c.cs.Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting pod %s/%s: %w", ns, p.Name, err))
			continue
		}
		out.Removed = append(out.Removed, fmt.Sprintf("removed pod %s/%s (%s)", ns, p.Name, why))
	}
	return out, errors.Join(errs...)
}

// collectable says whether an object may go, and why (or why not).
func (c *Cluster) collectable(m metav1.ObjectMeta, ended bool, host string, anyHost bool) (string, bool) {
	if ended {
		return "ended", true
	}
	s, ok := m.Annotations[AnnotationOwner]
	if !ok {
		return "made by isobench with no owner recorded", true
	}
	o, err := ParseOwner(s)
	if err != nil {
		return fmt.Sprintf("unreadable owner (%v)", err), true
	}
	switch {
	case o.Gone(host):
		return fmt.Sprintf("its isobench, pid %d on %s, no longer runs", o.PID, o.Host), true
	case o.Host != host && anyHost:
		return fmt.Sprintf("made by isobench on host %s", o.Host), true
	case o.Host != host:
		return fmt.Sprintf("made by isobench on host %s, whose process cannot be checked from here (remove it with --any-host)", o.Host), false
	}
	return fmt.Sprintf("its isobench, pid %d, still runs", o.PID), false
}

func jobEnded(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
