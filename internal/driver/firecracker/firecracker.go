package firecracker

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/vmm"
	"github.com/isobench/isobench/internal/guest"
)

// Name is the runtime's name.
const Name = "firecracker"

// Binary is the Firecracker executable isobench runs.
const Binary = "firecracker"

// family is Firecracker, driven through its REST API on a unix socket.
type family struct {
	binary string // "" looks up Binary in PATH
}

var _ vmm.Family = (*family)(nil)

func (f *family) Name() string      { return Name }
func (f *family) VMM() string       { return guest.VMMFirecracker }
func (f *family) Transport() string { return vmm.TransportMMIO }
func (f *family) NeedsKVM() bool    { return true }

// Resolve finds the firecracker binary and asks its version.
func (f *family) Resolve(ctx context.Context) (string, string, error) {
	return vmm.ResolveBinary(ctx, Name, Binary, f.binary, "a Firecracker release", "Firecracker ")
}

// RootDisk copies the raw base disk (Firecracker takes raw files only):
// a reflink where the file system can.
func (f *family) RootDisk(ctx context.Context, base, dir string) (string, error) {
	path := filepath.Join(dir, "root.ext4")
	return path, vmm.CopyDisk(ctx, base, path)
}

// KernelArgs: Firecracker's own defaults (reboot through the keyboard
// controller, which ends Firecracker; no PCI; no PS/2 probing).
func (f *family) KernelArgs(m *vmm.Machine, tscKHz int64) []string {
	return []string{"reboot=k", "pci=off", "i8042.noaux", "i8042.nomux", "i8042.nopnp", "i8042.dumbkbd", "cryptomgr.notests"}
}

// Launch returns the firecracker process (its API on a socket in the
// instance directory; the guest's serial console on its stdio).
func (f *family) Launch(m *vmm.Machine) (*exec.Cmd, vmm.Controller, error) {
	sock := m.Path("api.sock")
	cmd := exec.Command(m.Binary, "--api-sock", sock, "--id", fcID(m.ID), "--level", "Warning")
	return cmd, &controller{api: vmm.NewAPIClient(sock), m: m}, nil
}

// fcID makes a Firecracker instance id (letters, digits and '-', at most
// 64) of a sandbox id.
func fcID(id string) string {
	var b strings.Builder
	for _, c := range id {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	s := b.String()
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// The request bodies isobench sends, named as in Firecracker's API
// description (testdata/firecracker.yaml).
type machineConfig struct {
	VcpuCount  int   `json:"vcpu_count"`
	MemSizeMib int64 `json:"mem_size_mib"`
	Smt        bool  `json:"smt"`
}

type bootSource struct {
	KernelImagePath string `json:"kernel_image_path"`
	InitrdPath      string `json:"initrd_path,omitempty"`
	BootArgs        string `json:"boot_args"`
}

type drive struct {
	DriveID      string `json:"drive_id"`
	PathOnHost   string `json:"path_on_host"`
	IsRootDevice bool   `json:"is_root_device"`
	IsReadOnly   bool   `json:"is_read_only"`
	CacheType    string `json:"cache_type,omitempty"`
}

type networkInterface struct {
	IfaceID     string `json:"iface_id"`
	HostDevName string `json:"host_dev_name"`
	GuestMAC    string `json:"guest_mac,omitempty"`
}

type action struct {
	ActionType string `json:"action_type"`
}

// netIfaceID is the id of the guest's one network interface.
const netIfaceID = "eth0"

type controller struct {
	api *vmm.APIClient
	m   *vmm.Machine
}

// Boot configures the machine, its boot source, drives and network
// interface (the host's tap, which isobench made and addressed), and
// starts it.
// The drives are not root devices: the initramfs mounts the first as
// /dev/vda itself (Firecracker orders drives as they are added).
func (c *controller) Boot(ctx context.Context) error {
	if err := c.api.WaitReady(ctx); err != nil {
		return err
	}
	m := c.m
	steps := []struct {
		path string
		body any
	}{
		{"/machine-config", machineConfig{VcpuCount: m.CPUs, MemSizeMib: m.MemoryBytes >> 20}},
		{"/boot-source", bootSource{KernelImagePath: m.KernelPath, InitrdPath: m.Initramfs, BootArgs: m.Cmdline}},
	}
	if m.RootDisk != "" {
		steps = append(steps, struct {
			path string
			body any
		}{"/drives/root", drive{DriveID: "root", PathOnHost: m.RootDisk, CacheType: "Writeback"}})
	}
	if m.VolumeDisk != "" {
		steps = append(steps, struct {
			path string
			body any
		}{"/drives/volume", drive{DriveID: "volume", PathOnHost: m.VolumeDisk, CacheType: "Writeback"}})
	}
	if m.Net != nil {
		steps = append(steps, struct {
			path string
			body any
		}{"/network-interfaces/" + netIfaceID, networkInterface{IfaceID: netIfaceID, HostDevName: m.Net.Tap, GuestMAC: m.Net.MAC}})
	}
	steps = append(steps, struct {
		path string
		body any
	}{"/actions", action{ActionType: "InstanceStart"}})
	for _, s := range steps {
		if err := c.api.Do(ctx, "PUT", s.path, s.body, nil); err != nil {
			return fmt.Errorf("firecracker API: %w", err)
		}
	}
	return nil
}

// Quit presses Ctrl-Alt-Del: the guest kernel reboots, which ends
// Firecracker (reboot=k). The caller kills Firecracker if it does not.
func (c *controller) Quit(ctx context.Context) error {
	return c.api.Do(ctx, "PUT", "/actions", action{ActionType: "SendCtrlAltDel"}, nil)
}

func (c *controller) Close() error { return nil }

// NetBackend: Firecracker's own virtio-net device model moves the
// packets between the tap and the guest.
func (f *family) NetBackend(m *vmm.Machine) string {
	return "Firecracker virtio-net (virtio-mmio, packets moved by Firecracker's own process)"
}

// New returns the Firecracker driver. binary "" finds firecracker in PATH.
func New(env driver.Env, binary string, opts vmm.Options) (*vmm.Driver, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = env.CacheDir
	}
	return vmm.New(env, &family{binary: binary}, opts)
}

// Factory is the driver.Factory of firecracker; it has no variants.
func Factory(env driver.Env, variant string) (driver.Driver, error) {
	if variant != "" {
		return nil, fmt.Errorf("%s has no variants (got %q)", Name, variant)
	}
	d, err := New(env, "", vmm.Options{})
	if err != nil {
		return nil, err
	}
	return d, nil
}
