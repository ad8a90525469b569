package qemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/vmm"
	"github.com/isobench/isobench/internal/guest"
)

// Runtime names.
const (
	MicrovmName = "qemu-microvm"
	VMName      = "qemu-vm"
)

// Binary is the QEMU system emulator isobench runs.
const Binary = "qemu-system-x86_64"

// family is QEMU with one machine type.
type family struct {
	name    string
	machine string // "microvm" or "q35"
	binary  string // "" looks up Binary in PATH
}

var _ vmm.Family = (*family)(nil)

func (f *family) Name() string { return f.name }

func (f *family) VMM() string {
	if f.machine == "microvm" {
		return guest.VMMQemuMicrovm
	}
	return guest.VMMQemuVM
}

func (f *family) Transport() string {
	if f.machine == "microvm" {
		return vmm.TransportMMIO
	}
	return vmm.TransportPCI
}

func (f *family) NeedsKVM() bool { return false }

// Resolve finds QEMU and qemu-img and asks QEMU its version.
func (f *family) Resolve(ctx context.Context) (string, string, error) {
	var missing []string
	bin := f.binary
	if bin == "" {
		p, err := exec.LookPath(Binary)
		if err != nil {
			missing = append(missing, Binary+" not found in PATH (isobench setup installs qemu-system-x86)")
		}
		bin = p
	}
	if _, err := exec.LookPath("qemu-img"); err != nil {
		missing = append(missing, "qemu-img not found in PATH (isobench setup installs qemu-utils)")
	}
	if len(missing) > 0 {
		return bin, "", driver.NotSupported(f.name, "%s", strings.Join(missing, "; "))
	}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(vctx, bin, "--version").Output()
	if err != nil {
		return bin, "", driver.NotSupported(f.name, "%s --version: %v", bin, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return bin, strings.TrimSpace(strings.TrimPrefix(line, "QEMU emulator version ")), nil
}

// RootDisk makes a qcow2 overlay over the shared raw base disk.
func (f *family) RootDisk(ctx context.Context, base, dir string) (string, error) {
	path := dir + "/root.qcow2"
	cmd := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base, path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("qemu-img create: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return path, nil
}

// KernelArgs: no reboot (QEMU exits instead, with -no-reboot), no crypto
// self-tests at boot (they cost seconds under TCG and change nothing
// after), no PCI probe on the machine that has none; on the
// microvm machine under TCG, the host's TSC frequency, so that the guest
// needs no calibration (which fails on a busy host and leaves a microvm
// guest, without HPET or ACPI PM timer, with no clock).
func (f *family) KernelArgs(m *vmm.Machine, tscKHz int64) []string {
	args := []string{"reboot=t", "cryptomgr.notests"}
	if f.machine == "microvm" {
		args = append(args, "pci=off")
	}
	if f.machine == "microvm" && m.Accel == vmm.AccelTCG && tscKHz > 0 {
		args = append(args, "tsc_early_khz="+strconv.FormatInt(tscKHz, 10), "tsc=reliable")
	}
	return args
}

// Args returns QEMU's command line for m (without the binary).
func (f *family) Args(m *vmm.Machine) []string {
	args := []string{
		"-name", m.ID,
		"-S", // wait for "cont" on QMP
		"-no-user-config", "-nodefaults", "-display", "none", "-no-reboot",
		"-accel", m.Accel,
		"-smp", strconv.Itoa(m.CPUs),
		"-m", strconv.FormatInt(m.MemoryBytes>>20, 10) + "M",
	}
	if m.Accel == vmm.AccelKVM {
		args = append(args, "-cpu", "host")
	} else {
		args = append(args, "-cpu", "max")
	}
	blk := "virtio-blk-pci"
	if f.machine == "microvm" {
		// The minimal machine: no PCI, no firmware tables beyond ACPI's
		// device list. Under TCG the legacy timer, interrupt controller
		// and clock give the guest a tick before its TSC is set up.
		mach := "microvm,isa-serial=on,auto-kernel-cmdline=off"
		if m.Accel == vmm.AccelTCG {
			mach += ",pit=on,pic=on,rtc=on"
		}
		args = append(args, "-M", mach)
		blk = "virtio-blk-device"
	} else {
		args = append(args, "-M", "q35")
	}
	args = append(args,
		"-kernel", m.KernelPath, "-initrd", m.Initramfs, "-append", m.Cmdline,
		"-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
		"-qmp", "unix:"+m.Path("qmp.sock")+",server=on,wait=off",
	)
	if m.RootDisk != "" {
		args = append(args, "-drive", "id=root,file="+m.RootDisk+",format=qcow2,if=none,discard=unmap",
			"-device", blk+",drive=root,serial=isobench-root")
	}
	if m.VolumeDisk != "" {
		args = append(args, "-drive", "id=volume,file="+m.VolumeDisk+",format=raw,if=none,discard=unmap",
			"-device", blk+",drive=volume,serial=isobench-volume")
	}
	if m.Net != nil {
		vhost := "off"
		if f.vhost(m) {
			vhost = "on"
		}
		args = append(args,
			"-netdev", "tap,id=net0,ifname="+m.Net.Tap+",script=no,downscript=no,vhost="+vhost,
			"-device", f.netModel()+",netdev=net0,mac="+m.Net.MAC)
	}
	return args
}

// netModel is the guest's network device: virtio-net on the machine's
// transport.
func (f *family) netModel() string {
	if f.machine == "microvm" {
		return "virtio-net-device"
	}
	return "virtio-net-pci"
}

// vhostNet is the host kernel's virtio-net back end's device.
const vhostNet = "/dev/vhost-net"

// vhost says whether the guest's packets go through the host kernel's
// vhost-net (with KVM, where the host has it) rather than QEMU's own
// main loop. Under TCG QEMU's own device model serves the device.
func (f *family) vhost(m *vmm.Machine) bool {
	if m.Accel != vmm.AccelKVM {
		return false
	}
	_, err := os.Stat(vhostNet)
	return err == nil
}

// NetBackend says what serves the guest's network device.
func (f *family) NetBackend(m *vmm.Machine) string {
	transport := "virtio-mmio"
	if f.machine != "microvm" {
		transport = "virtio-pci"
	}
	how := "packets moved by QEMU's own process, no vhost-net"
	if f.vhost(m) {
		how = "packets moved by the host kernel's vhost-net"
	}
	return fmt.Sprintf("QEMU %s (%s, %s)", f.netModel(), transport, how)
}

// Launch returns QEMU's process for m and its QMP controller.
func (f *family) Launch(m *vmm.Machine) (*exec.Cmd, vmm.Controller, error) {
	for _, p := range []string{m.KernelPath, m.Initramfs} {
		if strings.ContainsAny(p, ",") {
			return nil, nil, fmt.Errorf("QEMU cannot take the path %q (it holds a comma)", p)
		}
	}
	cmd := exec.Command(m.Binary, f.Args(m)...)
	return cmd, &qmpController{socket: m.Path("qmp.sock")}, nil
}

// qmpController drives QEMU through QMP (qmp.go).
type qmpController struct {
	socket string
	q      *qmpConn
}

func (c *qmpController) run(ctx context.Context, command string) (json.RawMessage, error) {
	if c.q == nil {
		q, err := dialQMP(ctx, c.socket)
		if err != nil {
			return nil, err
		}
		c.q = q
	}
	return c.q.execute(ctx, command)
}

// Boot checks that QEMU is paused as asked (-S) and lets the guest run.
func (c *qmpController) Boot(ctx context.Context) error {
	out, err := c.run(ctx, "query-status")
	if err != nil {
		return err
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return fmt.Errorf("QMP query-status: %w", err)
	}
	if st.Status != "prelaunch" && st.Status != "paused" {
		return fmt.Errorf("QMP query-status: the VM is %q, want it paused before it starts", st.Status)
	}
	_, err = c.run(ctx, "cont")
	return err
}

// Quit ends QEMU at once.
func (c *qmpController) Quit(ctx context.Context) error {
	_, err := c.run(ctx, "quit")
	return err
}

// Close lets go of QMP.
func (c *qmpController) Close() error {
	if c.q == nil {
		return nil
	}
	err := c.q.close()
	c.q = nil
	return err
}
