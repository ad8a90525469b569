package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/guest"
	"github.com/isobench/isobench/internal/image"
)

// imageKernelCommand is `isobench image kernel`: it puts a guest kernel
// for the VM runtimes into the cache and says which VMMs it fits.
func (a *app) imageKernelCommand() *cobra.Command {
	var kernel, modules, config, pkg, busybox string
	cmd := &cobra.Command{
		Use:   "kernel",
		Short: "Put a guest kernel for the VM runtimes into the cache",
		Long: `Put the guest kernel of the VM runtimes (qemu-microvm, qemu-vm, firecracker,
cloud-hypervisor) into the cache: the kernel, its build configuration, the
modules guests need (virtio, ext4) and an initramfs that loads them and
starts the agent. The new kernel becomes the default.

Without --kernel, the distribution's kernel package is downloaded with its
package manager (apt-get download, which installs nothing) and unpacked in a
temporary directory; --package names another kernel package. With --kernel,
that kernel (a bzImage or an ELF vmlinux) is taken, with the modules of
--modules (its /lib/modules/RELEASE directory; leave it out for a kernel with
virtio and ext4 built in) and the configuration of --config (found beside the
kernel or in the modules directory when not given).

The kernel's release and configuration are recorded, and isobench says for
each VMM whether the kernel fits it, and what is missing when not (e.g.
Firecracker needs an uncompressed vmlinux, and from its release 1.8 CONFIG_ACPI,
CONFIG_PCI and virtio_mmio, before it CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cache, err := a.cache()
			if err != nil {
				return err
			}
			if kernel == "" && (modules != "" || config != "") {
				return withStatus(ExitUsage, fmt.Errorf("--modules and --config go with --kernel"))
			}
			if kernel != "" && pkg != "" {
				return withStatus(ExitUsage, fmt.Errorf("--kernel and --package exclude each other"))
			}
			var k *guest.Kernel
			log := cmd.ErrOrStderr()
			if kernel != "" {
				abs := func(p string) string {
					if p == "" {
						return ""
					}
					q, err := filepath.Abs(p)
					if err != nil {
						return p
					}
					return q
				}
				k, err = guest.ImportKernel(cmd.Context(), guest.KernelOptions{
					CacheDir: cache, Kernel: abs(kernel), Modules: abs(modules), Config: abs(config),
					Busybox: busybox, Log: log,
				})
			} else {
				k, err = guest.FetchKernel(cmd.Context(), guest.FetchOptions{CacheDir: cache, Package: pkg, Busybox: busybox, Log: log})
			}
			if err != nil {
				return err
			}
			printKernel(cmd.OutOrStdout(), k)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kernel, "kernel", "", "the guest kernel: a bzImage (vmlinuz) or an ELF vmlinux (default: fetch the distribution's)")
	f.StringVar(&modules, "modules", "", "the kernel's modules directory, /lib/modules/RELEASE (with --kernel)")
	f.StringVar(&config, "config", "", "the kernel's build configuration (with --kernel; default: found beside it)")
	f.StringVar(&pkg, "package", "", "the distribution's kernel package to fetch (default: the one its kernel metapackage names)")
	f.StringVar(&busybox, "busybox", "", "static busybox for the initramfs (default "+image.DefaultBusybox+")")
	return cmd
}

// printKernel says what the kernel is and which VMMs it fits.
func printKernel(w io.Writer, k *guest.Kernel) {
	fmt.Fprintf(w, "kernel   %s\n", k.ID)
	fmt.Fprintf(w, "release  %s\n", k.Release)
	fmt.Fprintf(w, "source   %s\n", k.Source)
	format := k.Format
	if k.HasVmlinux && k.Format != guest.FormatELF {
		format += ", ELF vmlinux extracted"
	}
	if k.PVH {
		format += ", PVH entry point"
	}
	fmt.Fprintf(w, "format   %s\n", format)
	if k.HasConfig {
		fmt.Fprintf(w, "config   recorded\n")
	} else {
		fmt.Fprintf(w, "config   unknown (give --config)\n")
	}
	var names []string
	for _, m := range k.Modules {
		names = append(names, m.Name)
	}
	if len(names) == 0 {
		names = []string{"none"}
	}
	fmt.Fprintf(w, "modules  %s\n", strings.Join(names, " "))
	if len(k.Missing) > 0 {
		fmt.Fprintf(w, "missing  %s\n", strings.Join(k.Missing, " "))
	}
	for _, f := range guest.Fits(k) {
		switch {
		case f.Err != nil:
			fmt.Fprintf(w, "%-17s %v\n", f.VMM, f.Err)
		case len(f.Problems) > 0:
			var why []string
			for _, p := range f.Problems {
				why = append(why, p.String())
			}
			fmt.Fprintf(w, "%-17s does not fit: %s\n", f.VMM, strings.Join(why, "; "))
		default:
			fmt.Fprintf(w, "%-17s fits\n", f.VMM)
		}
	}
}

// setupGuestKernel is setup's last step: a guest kernel for the VM
// runtimes, fetched as `isobench image kernel` does, unless the cache has
// one already.
func (a *app) setupGuestKernel(ctx context.Context, w, log io.Writer, dryRun bool) error {
	cache, err := a.cache()
	if err != nil {
		return err
	}
	if k, err := guest.DefaultKernel(cache); err == nil {
		fmt.Fprintf(w, "ok       %-16s the VM runtimes' guest kernel (%s)\n", "guest kernel", k.Release)
		return nil
	} else if !errors.Is(err, guest.ErrNoKernel) {
		fmt.Fprintf(w, "note: the cached guest kernel is unusable (%v); fetching another\n", err)
	}
	if dryRun {
		fmt.Fprintf(w, "would fetch the distribution's kernel package for the VM runtimes' guests (isobench image kernel)\n")
		return nil
	}
	k, err := guest.FetchKernel(ctx, guest.FetchOptions{CacheDir: cache, Log: log})
	if err != nil {
		return fmt.Errorf("fetching the guest kernel of the VM runtimes: %w", err)
	}
	fmt.Fprintf(w, "fetched  %-16s %s (%s)\n", "guest kernel", k.Release, k.Source)
	return nil
}
