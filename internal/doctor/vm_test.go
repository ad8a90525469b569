package doctor

import (
	"context"
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

// TestVMRowsKVMOneDecision: doctor's kvm row says what the process's one
// KVM decision says (the one every VM driver was given), never a probe of
// its own.
func TestVMRowsKVMOneDecision(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   driver.KVMStatus
		want string
	}{
		{"failed", driver.KVMStatus{State: driver.KVMGuestFailed, Reason: "KVM present but guests do not boot: test"},
			"kvm\tno\tKVM present but guests do not boot: test"},
		{"works", driver.KVMStatus{State: driver.KVMWorks}, "kvm\tyes\t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := VMRows(context.Background(), driver.Env{RunDir: t.TempDir(), KVM: fixedKVM{tc.st}})
			if len(rows) == 0 || !strings.HasPrefix(rows[0], tc.want) {
				t.Errorf("kvm row %q, want the prefix %q", rows, tc.want)
			}
		})
	}
}
