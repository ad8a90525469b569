package cli

import (
	"path/filepath"
	"testing"
)

// TestDriverEnvOneKVMDecision: every driver environment of a process
// carries the same KVM decision (doctor's kvm row reads it: see
// doctor.VMRows).
func TestDriverEnvOneKVMDecision(t *testing.T) {
	a := &app{env: Env{UID: 1000, Getenv: func(string) string { return "" }}, stateDir: filepath.Join(t.TempDir(), "isobench")}
	e1, err := a.driverEnv()
	if err != nil {
		t.Fatal(err)
	}
	e2, err := a.driverEnv()
	if err != nil {
		t.Fatal(err)
	}
	if e1.KVM == nil || e1.KVM != e2.KVM {
		t.Errorf("two driver environments of one process have KVM decisions %p and %p", e1.KVM, e2.KVM)
	}
}
