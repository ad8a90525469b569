package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
)

type fixedKVM struct{ st driver.KVMStatus }

func (f fixedKVM) KVM(context.Context) driver.KVMStatus { return f.st }
func (f fixedKVM) KVMFailed(string) driver.KVMStatus    { return f.st }
func (f fixedKVM) VerifyKVM(context.Context, func(context.Context) error) driver.KVMStatus {
	return f.st
}

// TestDoctorKVMOneDecision: doctor's kvm row says what the process's one
// KVM decision says (the one every VM driver was given), never a probe of
// its own; and every driver environment of a process carries the same
// decision.
func TestDoctorKVMOneDecision(t *testing.T) {
	failed := driver.KVMStatus{State: driver.KVMGuestFailed, Reason: "KVM present but guests do not boot: test"}
	rows := vmDoctorRows(context.Background(), driver.Env{RunDir: t.TempDir(), KVM: fixedKVM{failed}})
	if len(rows) == 0 || !strings.HasPrefix(rows[0], "kvm\tno\t"+failed.Reason) {
		t.Errorf("kvm row %q, want no with the decision's reason", rows)
	}
	works := driver.KVMStatus{State: driver.KVMWorks}
	rows = vmDoctorRows(context.Background(), driver.Env{RunDir: t.TempDir(), KVM: fixedKVM{works}})
	if len(rows) == 0 || !strings.HasPrefix(rows[0], "kvm\tyes\t") {
		t.Errorf("kvm row %q, want yes", rows)
	}

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
