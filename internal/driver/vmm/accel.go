package vmm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

// Accelerations.
const (
	AccelKVM = "kvm"
	AccelTCG = "tcg"
)

// TCGWarning is the warning every result of a software-emulated guest
// carries.
const TCGWarning = "software emulation (TCG): not comparable with hardware numbers"

// KVM states, as KVMStatus.State (driver's, named here too).
const (
	KVMWorks       = driver.KVMWorks
	KVMAbsent      = driver.KVMAbsent
	KVMGuestsHang  = driver.KVMGuestsHang
	KVMUnknown     = driver.KVMUnknown
	KVMGuestFailed = driver.KVMGuestFailed
)

// KVMStatus says whether KVM guests run on this host.
type KVMStatus = driver.KVMStatus

// probeExit is the status QEMU exits with when the probe guest writes 0x31
// to the isa-debug-exit port: (0x31 << 1) | 1.
const probeExit = 99

// probeKernel returns a multiboot kernel of five instructions: it writes
// 0x31 to I/O port 0xf4 (QEMU's isa-debug-exit device, which then ends
// QEMU with status 99) and halts. A guest that runs at all exits at once;
// one whose vCPU never runs leaves QEMU waiting until the timeout.
func probeKernel() []byte {
	const (
		magic = 0x1BADB002
		flags = 0x00010000 // the address fields are valid
		base  = 0x100000
	)
	var sum uint32 = magic + flags
	hdr := []uint32{magic, flags, -sum, base, base, 0, 0, base + 32}
	var b bytes.Buffer
	for _, v := range hdr {
		binary.Write(&b, binary.LittleEndian, v)
	}
	// mov al,0x31; out 0xf4,al; cli; hlt; jmp $-1
	b.Write([]byte{0xb0, 0x31, 0xe6, 0xf4, 0xfa, 0xf4, 0xeb, 0xfd})
	return b.Bytes()
}

// ProbeKVM tells whether KVM guests run here: /dev/kvm must open, and a
// probe guest of a few instructions must run under QEMU with -accel kvm
// and the host's CPU model (as guests get it) within timeout (a host whose nested virtualisation is broken creates VMs
// but never runs them: that is caught here, in seconds). qemu is the QEMU
// system emulator's path; "" leaves the second check out (State
// KVMUnknown when /dev/kvm opens). The probe kernel is written in tmpDir
// and unlinked at once.
func ProbeKVM(ctx context.Context, qemu, tmpDir string, timeout time.Duration) KVMStatus {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		why := err.Error()
		switch {
		case errors.Is(err, os.ErrNotExist):
			why = "/dev/kvm does not exist (no hardware virtualisation, or the kvm module is not loaded; on a VM, nested virtualisation is off)"
		case errors.Is(err, os.ErrPermission):
			why = "/dev/kvm is not accessible to this user (join the kvm group, or run as root)"
		}
		return KVMStatus{State: KVMAbsent, Reason: "no KVM: " + why, Short: "no KVM (" + err.Error() + ")"}
	}
	f.Close()
	if qemu == "" {
		return KVMStatus{State: KVMUnknown, Reason: "KVM not verified: /dev/kvm opens, but no QEMU (qemu-system-x86) is installed to boot a probe guest", Short: "KVM not verified (no QEMU for the probe guest)"}
	}
	start := time.Now()
	out, err := runProbeGuest(ctx, qemu, tmpDir, "kvm", timeout)
	took := time.Since(start)
	switch {
	case err == nil:
		return KVMStatus{State: KVMWorks, ProbeTime: took}
	case errors.Is(err, errProbeTimeout):
		return KVMStatus{State: KVMGuestsHang, ProbeTime: took, Short: fmt.Sprintf("KVM present but guests do not run (a probe guest hung %s)", timeout), Reason: fmt.Sprintf("KVM present but guests do not run: /dev/kvm opens and QEMU creates the VM, but a probe guest of five instructions did not finish within %s (its vCPU never runs; on a VM, nested virtualisation is broken)", timeout)}
	case strings.Contains(out, "kvm") || strings.Contains(out, "KVM") || strings.Contains(out, "MSR"):
		return KVMStatus{State: KVMAbsent, ProbeTime: took, Reason: "no KVM: QEMU cannot use it (with -cpu host, as guests run): " + oneLine(out), Short: "no KVM (QEMU cannot run a guest with it)"}
	}
	return KVMStatus{State: KVMAbsent, ProbeTime: took, Reason: fmt.Sprintf("no KVM: the probe guest failed: %v: %s", err, oneLine(out)), Short: "no KVM (the probe guest failed)"}
}

var errProbeTimeout = errors.New("probe guest timed out")

// runProbeGuest boots the probe kernel with the given accelerator and
// returns QEMU's output; nil error means the guest ran.
func runProbeGuest(ctx context.Context, qemu, tmpDir, accel string, timeout time.Duration) (string, error) {
	// The probe kernel is an open file already unlinked, handed to QEMU as
	// its fd 3: nothing is left on disk whatever happens to this process.
	if err := driverkit.MakeRunDir(tmpDir); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(tmpDir, "isobench-kvmprobe-")
	if err != nil {
		return "", err
	}
	os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(probeKernel()); err != nil {
		return "", err
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := []string{"-accel", accel, "-M", "pc", "-m", "16", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", "/dev/fd/3", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"}
	if accel == AccelKVM {
		// The CPU model guests get: a host whose KVM cannot give it (a
		// nested hypervisor refusing an MSR) fails here, not at each boot.
		args = append(args, "-cpu", "host")
	}
	cmd := exec.CommandContext(pctx, qemu, args...)
	cmd.ExtraFiles = []*os.File{f}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == probeExit:
		return out.String(), nil
	case pctx.Err() != nil && ctx.Err() == nil:
		return out.String(), errProbeTimeout
	case ctx.Err() != nil:
		return out.String(), ctx.Err()
	case err == nil:
		return out.String(), errors.New("QEMU exited 0 without the probe guest's exit code")
	}
	return out.String(), err
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
