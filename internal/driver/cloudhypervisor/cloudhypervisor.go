package cloudhypervisor

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/vmm"
	"github.com/isobench/isobench/internal/guest"
)

// Name is the runtime's name.
const Name = "cloud-hypervisor"

// Binary is the Cloud Hypervisor executable isobench runs.
const Binary = "cloud-hypervisor"

// apiPrefix is where Cloud Hypervisor serves its API (its description's
// server URL).
const apiPrefix = "/api/v1"

type family struct {
	binary string // "" looks up Binary in PATH
}

var _ vmm.Family = (*family)(nil)

func (f *family) Name() string      { return Name }
func (f *family) VMM() string       { return guest.VMMCloudHypervisor }
func (f *family) Transport() string { return vmm.TransportPCI }
func (f *family) NeedsKVM() bool    { return true }

// Resolve finds the cloud-hypervisor binary and asks its version.
func (f *family) Resolve(ctx context.Context) (string, string, error) {
	return vmm.ResolveBinary(ctx, Name, Binary, f.binary, "a Cloud Hypervisor release", "cloud-hypervisor ")
}

// RootDisk copies the raw base disk: a reflink where the file system can.
func (f *family) RootDisk(ctx context.Context, base, dir string) (string, error) {
	path := filepath.Join(dir, "root.ext4")
	return path, vmm.CopyDisk(ctx, base, path)
}

// KernelArgs: no crypto self-tests at boot.
func (f *family) KernelArgs(m *vmm.Machine, tscKHz int64) []string {
	return []string{"cryptomgr.notests"}
}

// Launch returns the cloud-hypervisor process, with its API on a socket in
// the instance directory; the guest is created and booted through it.
func (f *family) Launch(m *vmm.Machine) (*exec.Cmd, vmm.Controller, error) {
	sock := m.Path("api.sock")
	cmd := exec.Command(m.Binary, "--api-socket", "path="+sock)
	return cmd, &controller{api: vmm.NewAPIClient(sock), m: m}, nil
}

// The request bodies isobench sends, named as in Cloud Hypervisor's API
// description (testdata/cloud-hypervisor.yaml).
type vmConfig struct {
	Cpus    cpusConfig    `json:"cpus"`
	Memory  memoryConfig  `json:"memory"`
	Payload payloadConfig `json:"payload"`
	Disks   []diskConfig  `json:"disks,omitempty"`
	Net     []netConfig   `json:"net,omitempty"`
	Serial  consoleConfig `json:"serial"`
	Console consoleConfig `json:"console"`
}

type cpusConfig struct {
	BootVcpus int `json:"boot_vcpus"`
	MaxVcpus  int `json:"max_vcpus"`
}

type memoryConfig struct {
	Size int64 `json:"size"`
}

type payloadConfig struct {
	Kernel    string `json:"kernel"`
	Initramfs string `json:"initramfs,omitempty"`
	Cmdline   string `json:"cmdline"`
}

type diskConfig struct {
	Path string `json:"path"`
	ID   string `json:"id,omitempty"`
}

// netConfig is a network device on an existing tap: ip and mask are the
// tap's (the host's end), which isobench set already; Cloud Hypervisor
// would set the same where it sets them at all.
type netConfig struct {
	Tap  string `json:"tap"`
	MAC  string `json:"mac"`
	IP   string `json:"ip"`
	Mask string `json:"mask"`
	ID   string `json:"id,omitempty"`
}

type consoleConfig struct {
	Mode string `json:"mode"`
}

type controller struct {
	api *vmm.APIClient
	m   *vmm.Machine
}

// Boot creates the VM (the serial console on Cloud Hypervisor's stdio,
// the virtio console off; a network device on the guest's tap) and boots
// it.
func (c *controller) Boot(ctx context.Context) error {
	if err := c.api.WaitReady(ctx); err != nil {
		return err
	}
	m := c.m
	cfg := vmConfig{
		Cpus:    cpusConfig{BootVcpus: m.CPUs, MaxVcpus: m.CPUs},
		Memory:  memoryConfig{Size: m.MemoryBytes},
		Payload: payloadConfig{Kernel: m.KernelPath, Initramfs: m.Initramfs, Cmdline: m.Cmdline},
		Serial:  consoleConfig{Mode: "Tty"},
		Console: consoleConfig{Mode: "Off"},
	}
	if m.RootDisk != "" {
		cfg.Disks = append(cfg.Disks, diskConfig{Path: m.RootDisk, ID: "root"})
	}
	if m.VolumeDisk != "" {
		cfg.Disks = append(cfg.Disks, diskConfig{Path: m.VolumeDisk, ID: "volume"})
	}
	if m.Net != nil {
		mask := net.IP(net.CIDRMask(m.Net.HostAddr.Bits(), 32)).String()
		cfg.Net = append(cfg.Net, netConfig{Tap: m.Net.Tap, MAC: m.Net.MAC, IP: m.Net.HostAddr.Addr().String(), Mask: mask, ID: "net0"})
	}
	if err := c.api.Do(ctx, "PUT", apiPrefix+"/vm.create", cfg, nil); err != nil {
		return fmt.Errorf("cloud-hypervisor API: %w", err)
	}
	if err := c.api.Do(ctx, "PUT", apiPrefix+"/vm.boot", nil, nil); err != nil {
		return fmt.Errorf("cloud-hypervisor API: %w", err)
	}
	return nil
}

// Quit shuts the VM down and then the VMM.
func (c *controller) Quit(ctx context.Context) error {
	err := c.api.Do(ctx, "PUT", apiPrefix+"/vm.shutdown", nil, nil)
	if err2 := c.api.Do(ctx, "PUT", apiPrefix+"/vmm.shutdown", nil, nil); err == nil {
		err = err2
	}
	return err
}

func (c *controller) Close() error { return nil }

// NetBackend: Cloud Hypervisor's own virtio-net device model moves the
// packets between the tap and the guest.
func (f *family) NetBackend(m *vmm.Machine) string {
	return "Cloud Hypervisor virtio-net (virtio-pci, packets moved by Cloud Hypervisor's own process)"
}

// New returns the Cloud Hypervisor driver. binary "" finds
// cloud-hypervisor in PATH.
func New(env driver.Env, binary string, opts vmm.Options) (*vmm.Driver, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = env.CacheDir
	}
	return vmm.New(env, &family{binary: binary}, opts)
}

// Factory is the driver.Factory of cloud-hypervisor; it has no variants.
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
