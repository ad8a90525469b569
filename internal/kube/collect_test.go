package kube

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCollectable checks what gc may remove: only what nothing uses.
func TestCollectable(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	dead := Owner{Host: self.Host, PID: deadPID(t), Start: 1}
	remote := Owner{Host: "other-host", PID: 1, Start: 1}
	meta := func(owner string) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Annotations: map[string]string{}}
		if owner != "" {
			m.Annotations[AnnotationOwner] = owner
		}
		return m
	}
	tests := []struct {
		name    string
		meta    metav1.ObjectMeta
		ended   bool
		anyHost bool
		remove  bool
		why     string
	}{
		{"live owner", meta(self.String()), false, false, false, "still runs"},
		{"live owner, ended", meta(self.String()), true, false, true, "ended"},
		{"dead owner", meta(dead.String()), false, false, true, "no longer runs"},
		{"reused pid", meta(Owner{Host: self.Host, PID: self.PID, Start: self.Start + 1}.String()), false, false, true, "no longer runs"},
		{"other host", meta(remote.String()), false, false, false, "--any-host"},
		{"other host, any host", meta(remote.String()), false, true, true, "other-host"},
		{"no owner", meta(""), false, false, true, "no owner"},
		{"bad owner", meta("garbage"), false, false, true, "unreadable owner"},
	}
	var c Cluster
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why, remove := c.collectable(tt.meta, tt.ended, self.Host, tt.anyHost)
			if remove != tt.remove || !strings.Contains(why, tt.why) {
				t.Errorf("collectable = %q, %v; want %v and a reason with %q", why, remove, tt.remove, tt.why)
			}
		})
	}
}
