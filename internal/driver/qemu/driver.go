package qemu

import (
	"fmt"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/vmm"
)

// New returns the driver of a QEMU machine: MicrovmName (-M microvm) or
// VMName (-M q35). The variant forces the acceleration ("kvm" or "tcg");
// "" takes KVM when a probe guest really runs under it, else TCG.
func New(env driver.Env, name, variant string, opts vmm.Options) (*vmm.Driver, error) {
	f := &family{name: name}
	switch name {
	case MicrovmName:
		f.machine = "microvm"
	case VMName:
		f.machine = "q35"
	default:
		return nil, fmt.Errorf("unknown QEMU runtime %q (want %s or %s)", name, MicrovmName, VMName)
	}
	if variant != "" {
		f.name = name + ":" + variant
	}
	opts.Accel = variant
	if opts.CacheDir == "" {
		opts.CacheDir = env.CacheDir
	}
	return vmm.New(env, f, opts)
}

// NewMicrovm is the driver.Factory of qemu-microvm.
func NewMicrovm(env driver.Env, variant string) (driver.Driver, error) {
	d, err := New(env, MicrovmName, variant, vmm.Options{})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// NewVM is the driver.Factory of qemu-vm.
func NewVM(env driver.Env, variant string) (driver.Driver, error) {
	d, err := New(env, VMName, variant, vmm.Options{})
	if err != nil {
		return nil, err
	}
	return d, nil
}
