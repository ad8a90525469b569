package guest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/isobench/isobench/internal/image"
)

// InitErrorPrefix starts every line the guest's initramfs writes on the
// console when it cannot hand over to the agent; the host quotes such lines
// when a guest fails to start.
const InitErrorPrefix = "isobench-init: error: "

// Kernel command-line parameters the initramfs reads.
const (
	// ParamLoad lists the modules to insert, in order, comma-separated.
	ParamLoad = "isobench.load"
	// ParamRoot is the root disk's device (default /dev/vda).
	ParamRoot = "isobench.root"
	// ParamRootWait is how many seconds to wait for the root disk.
	ParamRootWait = "isobench.rootwait"
	// ParamProbe=1 makes the initramfs say ProbeOK and power off at once:
	// a probe that the VMM boots the kernel and runs the initramfs.
	ParamProbe = "isobench.probe"
)

// ProbeOK is the line the initramfs writes for a probe boot.
const ProbeOK = "isobench-init: probe ok"

// initScript is the initramfs's /init: it inserts the modules the host
// names (with the MODULE.PARAM=VALUE arguments of the kernel command line,
// as modprobe would), waits for the root disk, mounts it and hands over to
// the agent as PID 1 (mode "vm"). Any failure is one line starting with
// InitErrorPrefix on the console, then the guest powers off.
const initScript = `#!/bin/busybox sh
# isobench guest init: load modules, mount the root disk, start the agent.
bb=/bin/busybox
$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
fail() {
	echo "` + InitErrorPrefix + `$*"
	$bb sync
	$bb poweroff -f
	while :; do $bb sleep 1; done
}
$bb mount -t proc proc /proc || fail "cannot mount /proc"
load= root=/dev/vda wait=30
cmdline=$($bb cat /proc/cmdline)
for arg in $cmdline; do
	case "$arg" in
	` + ParamLoad + `=*) load=${arg#` + ParamLoad + `=} ;;
	` + ParamRoot + `=*) root=${arg#` + ParamRoot + `=} ;;
	` + ParamRootWait + `=*) wait=${arg#` + ParamRootWait + `=} ;;
	esac
done
case " $cmdline " in *" ` + ParamProbe + `=1 "*)
	echo "` + ProbeOK + `"
	$bb poweroff -f
	while :; do $bb sleep 1; done
esac
for m in $(echo "$load" | $bb tr , ' '); do
	[ -f /lib/modules/"$m".ko ] || fail "kernel module $m is not in the initramfs"
	params=
	for arg in $cmdline; do
		case "$arg" in "$m".*=*) params="$params ${arg#"$m".}" ;; esac
	done
	$bb insmod /lib/modules/"$m".ko $params || fail "cannot load kernel module $m"
done
i=0
while [ ! -b "$root" ]; do
	[ $i -ge $((wait * 20)) ] && fail "root disk $root did not appear within ${wait}s (modules loaded: $load)"
	$bb usleep 50000
	i=$((i + 1))
done
$bb mount -t ext4 -o rw "$root" /newroot || fail "cannot mount the root disk $root as ext4"
[ -e /newroot` + image.AgentPath + ` ] || fail "` + image.AgentPath + ` not found on the root disk: the workload image has no agent"
[ -x /newroot` + image.AgentPath + ` ] || fail "` + image.AgentPath + ` on the root disk is not executable"
$bb mkdir -p /newroot/dev
$bb mount --move /dev /newroot/dev || fail "cannot move /dev to the root disk"
$bb umount /proc
exec $bb switch_root /newroot ` + image.AgentPath + ` vm
`

// InitArgs returns the kernel command-line parameters that tell the
// initramfs which modules to load (in order), the root disk, and how long
// to wait for it.
func InitArgs(load []string, root string, wait time.Duration) []string {
	args := []string{}
	if len(load) > 0 {
		args = append(args, ParamLoad+"="+strings.Join(load, ","))
	}
	if root != "" {
		args = append(args, ParamRoot+"="+root)
	}
	if wait > 0 {
		args = append(args, ParamRootWait+"="+strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	}
	return args
}

// writeInitramfs writes the initramfs of k (whose modules are already in
// k.Dir/modules) to out: /init, a static busybox and the modules, as a
// cpio archive in the kernel's "newc" format. Entries carry no time stamp,
// owner root, so the same inputs give the same bytes.
func writeInitramfs(k *Kernel, busybox, out string) (err error) {
	var buf bytes.Buffer
	w := cpio.NewWriter(&buf)
	ino := int64(1)
	add := func(name string, mode cpio.FileMode, body []byte, link string) error {
		h := &cpio.Header{Name: name, Mode: mode, Links: 1, Inode: ino, Linkname: link}
		ino++
		switch {
		case link != "":
			h.Size = int64(len(link))
			body = []byte(link)
		case mode&cpio.TypeDir != 0:
			h.Links = 2
		default:
			h.Size = int64(len(body))
		}
		if err := w.WriteHeader(h); err != nil {
			return fmt.Errorf("initramfs entry %s: %w", name, err)
		}
		if len(body) > 0 {
			if _, err := w.Write(body); err != nil {
				return fmt.Errorf("initramfs entry %s: %w", name, err)
			}
		}
		return nil
	}
	for _, d := range []string{"bin", "dev", "proc", "sys", "newroot", "lib", "lib/modules"} {
		if err := add(d, cpio.TypeDir|0o755, nil, ""); err != nil {
			return err
		}
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := add("bin/busybox", cpio.TypeReg|0o755, bb, ""); err != nil {
		return err
	}
	if err := add("bin/sh", cpio.TypeSymlink|0o777, nil, "busybox"); err != nil {
		return err
	}
	if err := add("init", cpio.TypeReg|0o755, []byte(initScript), ""); err != nil {
		return err
	}
	for _, m := range k.Modules {
		b, err := os.ReadFile(filepath.Join(k.Dir, modulesName, m.Name+".ko"))
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		if err := add("lib/modules/"+m.Name+".ko", cpio.TypeReg|0o644, b, ""); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return nil
}
