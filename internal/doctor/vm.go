package doctor

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/vmm"
	"github.com/isobench/isobench/internal/guest"
)

// VMRows are doctor's rows about VM guests: whether KVM guests run
// here, as the process's one decision says (denv.KVM: a probe guest must
// really run, in seconds, and no guest kernel may have failed under KVM
// in the runtimes' probes before), and the guest kernel with the VMMs it
// fits. Each row is "NAME\tFOUND\tDETAILS".
func VMRows(ctx context.Context, denv driver.Env) []string {
	var rows []string
	var st driver.KVMStatus
	if denv.KVM != nil {
		st = denv.KVM.KVM(ctx)
	} else {
		qemu, _ := exec.LookPath("qemu-system-x86_64")
		st = vmm.ProbeKVM(ctx, qemu, denv.RunDir, 5*time.Second)
	}
	switch st.State {
	case driver.KVMWorks:
		rows = append(rows, fmt.Sprintf("kvm\tyes\ta probe guest ran in %s", st.ProbeTime.Round(time.Millisecond)))
	default:
		rows = append(rows, "kvm\tno\t"+st.Reason+"; QEMU runtimes fall back to software emulation (TCG), Firecracker and Cloud Hypervisor cannot run")
	}
	if denv.CacheDir == "" {
		return append(rows, "guest kernel\tno\tno cache directory")
	}
	k, err := guest.DefaultKernel(denv.CacheDir)
	if err != nil {
		return append(rows, "guest kernel\tno\t"+oneLine(err.Error()))
	}
	var fits, not []string
	for _, f := range guest.Fits(k) {
		switch {
		case f.Err != nil:
			not = append(not, f.VMM+" ("+f.Err.Error()+")")
		case len(f.Problems) > 0:
			var why []string
			for _, p := range f.Problems {
				why = append(why, p.Need)
			}
			not = append(not, f.VMM+" (needs "+strings.Join(why, ", ")+")")
		default:
			fits = append(fits, f.VMM)
		}
	}
	d := fmt.Sprintf("%s (%s)", k.Release, k.Source)
	if len(fits) > 0 {
		d += "; fits " + strings.Join(fits, ", ")
	}
	if len(not) > 0 {
		d += "; does not fit " + strings.Join(not, "; ")
	}
	return append(rows, "guest kernel\tyes\t"+d)
}

// oneLine puts s on one line, cut at 240 bytes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}
