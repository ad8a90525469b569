package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Kernel command-line parameters the agent reads in VM mode.
const (
	// ParamScratch is the scratch kind: rootfs, volume or tmpfs.
	ParamScratch = "isobench.scratch"
	// ParamVolume is the block device of the volume scratch (default
	// /dev/vdb).
	ParamVolume = "isobench.volume"
	// ParamPort is the console device the agent talks on (default
	// /dev/ttyS0).
	ParamPort = "isobench.port"
	// ParamNet is the guest's address on its link to the host, with the
	// link's prefix length (e.g. 169.254.128.2/30); absent when the guest
	// has no network device.
	ParamNet = "isobench.net"
	// ParamNetMAC is the MAC address of the guest's network device, by
	// which the agent finds it; absent: the one device besides lo.
	ParamNetMAC = "isobench.netmac"
)

// vmScratchPath is where the scratch directory is in the guest (the same
// as driver.ScratchPath; the agent does not import the driver package).
const vmScratchPath = "/scratch"

// vmPath is the command search path of the guest's commands.
const vmPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// VMConfig is what the agent learns from the kernel command line.
type VMConfig struct {
	Scratch string // rootfs, volume or tmpfs
	Volume  string // block device of the volume scratch
	Port    string // console device
	// Net is the guest's address with its prefix length, and NetMAC the
	// MAC address of its device ("" any); Net is invalid when the guest
	// has no network.
	Net    netip.Prefix
	NetMAC string
}

// ParseVMCmdline reads the agent's parameters from a kernel command line
// (the text of /proc/cmdline), with their defaults.
func ParseVMCmdline(cmdline string) (VMConfig, error) {
	c := VMConfig{Scratch: "rootfs", Volume: "/dev/vdb", Port: "/dev/ttyS0"}
	for _, arg := range strings.Fields(cmdline) {
		k, v, ok := strings.Cut(arg, "=")
		if !ok {
			continue
		}
		switch k {
		case ParamScratch:
			switch v {
			case "rootfs", "volume", "tmpfs":
				c.Scratch = v
			default:
				return c, fmt.Errorf("kernel command line: %s=%q: want rootfs, volume or tmpfs", ParamScratch, v)
			}
		case ParamVolume, ParamPort:
			if !strings.HasPrefix(v, "/dev/") || strings.Contains(v, "..") {
				return c, fmt.Errorf("kernel command line: %s=%q: want a device under /dev", k, v)
			}
			if k == ParamVolume {
				c.Volume = v
			} else {
				c.Port = v
			}
		case ParamNet:
			p, err := netip.ParsePrefix(v)
			if err != nil || !p.Addr().Is4() || p.Bits() < 8 || p.Bits() > 30 || p.Masked().Addr() == p.Addr() {
				return c, fmt.Errorf("kernel command line: %s=%q: want an IPv4 host address with a prefix length from 8 to 30", k, v)
			}
			c.Net = p
		case ParamNetMAC:
			mac, err := net.ParseMAC(v)
			if err != nil || len(mac) != 6 {
				return c, fmt.Errorf("kernel command line: %s=%q: want a MAC address", k, v)
			}
			c.NetMAC = mac.String()
		}
	}
	return c, nil
}

// mainVM is the agent as a guest's PID 1, started by the initramfs after
// it loaded the kernel modules and mounted the root disk. It mounts /proc,
// /sys and /dev, sets up the scratch directory, and serves the host over
// the console until told to power off. It never returns on success: the
// guest powers off.
func mainVM(stderr io.Writer) error {
	if os.Getpid() != 1 {
		return errors.New("vm mode runs only as a guest's first process (PID 1)")
	}
	fail := func(err error) error {
		fmt.Fprintf(stderr, "isobench-agent: error: %v\n", err)
		powerOff()
		return err
	}
	for _, m := range []struct{ src, dir, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
	} {
		if err := mountOnce(m.src, m.dir, m.fstype, 0, ""); err != nil {
			return fail(err)
		}
	}
	os.Setenv("PATH", vmPath)
	os.Setenv("HOME", "/root")
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return fail(fmt.Errorf("reading the kernel command line: %w", err))
	}
	cfg, err := ParseVMCmdline(string(cmdline))
	if err != nil {
		return fail(err)
	}
	boot := Boot{Scratch: cfg.Scratch}
	if err := setupScratch(cfg); err != nil {
		return fail(err)
	}
	boot.ScratchFS = fsTypeAt(vmScratchPath)
	if err := loopbackUp(); err != nil {
		fmt.Fprintf(stderr, "isobench-agent: warning: bringing up lo: %v\n", err)
	}
	if cfg.Net.IsValid() {
		// The host asked for a network: without it the guest is of no
		// use to the host, which is told why on the console.
		if _, err := setupGuestNet(cfg, guestNetWait); err != nil {
			return fail(err)
		}
	}
	port, err := os.OpenFile(cfg.Port, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return fail(fmt.Errorf("opening the console %s: %w", cfg.Port, err))
	}
	if err := makeRaw(port); err != nil {
		return fail(fmt.Errorf("console %s: %w", cfg.Port, err))
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGCHLD)
	go func() {
		for range sigs {
			reapOrphans()
		}
	}()
	boot.UptimeNanos = uptime()
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		boot.MemoryBytes = int64(si.Totalram) * int64(si.Unit)
	}
	boot.CPUs = onlineCPUs()
	err = ServeVM(context.Background(), port, port, boot)
	if err != nil {
		fmt.Fprintf(stderr, "isobench-agent: %v\n", err)
	}
	syscall.Sync()
	if cfg.Scratch == "volume" || cfg.Scratch == "tmpfs" {
		_ = syscall.Unmount(vmScratchPath, 0)
	}
	powerOff()
	return err
}

// ServeVM serves the host over a console (r, w) until the host asks for a
// power-off (it then returns nil, after saying goodbye) or the link fails.
// Commands run concurrently, each under its request's id.
func ServeVM(ctx context.Context, r io.Reader, w io.Writer, boot Boot) error {
	return serveVM(ctx, r, w, boot, LinkOptions{})
}

func serveVM(ctx context.Context, r io.Reader, w io.Writer, boot Boot, opts LinkOptions) error {
	link := NewLink(r, w, GuestEnd, nil, opts)
	defer link.Close()
	rd := Ready{Type: TypeReady, Version: Version, PID: os.Getpid(), UnixNano: time.Now().UnixNano()}
	rd.Hostname, _ = os.Hostname()
	var uts syscall.Utsname
	if syscall.Uname(&uts) == nil {
		rd.Kernel = utsString(uts.Release[:])
	}
	if err := sendVM(ctx, link, vmMessage{Type: vmHello, Ready: &rd, Boot: &boot}); err != nil {
		return fmt.Errorf("saying hello: %w", err)
	}
	var mu sync.Mutex
	running := map[uint64]context.CancelFunc{}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		b, err := link.Receive(ctx)
		if err != nil {
			return err
		}
		var m vmMessage
		if err := json.Unmarshal(b, &m); err != nil {
			_ = sendVM(ctx, link, vmMessage{Type: vmFatal, Error: "a message that is not JSON: " + err.Error()})
			return fmt.Errorf("a message that is not JSON: %w", err)
		}
		switch m.Type {
		case vmExec:
			if m.Request == nil {
				m.Request = &Request{}
			}
			cctx, cancel := context.WithCancel(ctx)
			mu.Lock()
			running[m.ID] = cancel
			mu.Unlock()
			wg.Add(1)
			go func(id uint64, req Request) {
				defer wg.Done()
				res := Execute(cctx, req)
				mu.Lock()
				delete(running, id)
				mu.Unlock()
				cancel()
				out := vmMessage{Type: vmResult, ID: id, Stdout: []byte(res.Stdout), Stderr: []byte(res.Stderr)}
				res.Stdout, res.Stderr = "", ""
				out.Result = &res
				_ = sendVM(ctx, link, out)
			}(m.ID, *m.Request)
		case vmCancel:
			mu.Lock()
			if cancel := running[m.ID]; cancel != nil {
				cancel()
			}
			mu.Unlock()
		case vmPoweroff:
			mu.Lock()
			for _, cancel := range running {
				cancel()
			}
			mu.Unlock()
			wg.Wait()
			syscall.Sync()
			err := sendVM(ctx, link, vmMessage{Type: vmBye})
			// Give the goodbye a moment to be acknowledged.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) && link.pending() > 0 {
				time.Sleep(10 * time.Millisecond)
			}
			return err
		}
	}
}

func (l *Link) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.unacked)
}

func sendVM(ctx context.Context, l *Link, m vmMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return l.Send(ctx, b)
}

// mountOnce mounts fstype at dir unless something is mounted there already.
func mountOnce(src, dir, fstype string, flags uintptr, data string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mount %s: %w", dir, err)
	}
	err := syscall.Mount(src, dir, fstype, flags, data)
	if err != nil && !errors.Is(err, syscall.EBUSY) {
		return fmt.Errorf("mount %s on %s: %w", fstype, dir, err)
	}
	return nil
}

// setupScratch mounts the scratch directory of the configured kind.
func setupScratch(cfg VMConfig) error {
	if err := os.MkdirAll(vmScratchPath, 0o1777); err != nil {
		return fmt.Errorf("scratch: %w", err)
	}
	switch cfg.Scratch {
	case "tmpfs":
		if err := syscall.Mount("tmpfs", vmScratchPath, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=1777"); err != nil {
			return fmt.Errorf("scratch: mounting a tmpfs on %s: %w", vmScratchPath, err)
		}
	case "volume":
		var err error
		for i := 0; i < 200; i++ { // the disk may appear a moment late
			if err = syscall.Mount(cfg.Volume, vmScratchPath, "ext4", syscall.MS_NOSUID|syscall.MS_NODEV, ""); err == nil || !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENXIO) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("scratch: mounting the volume %s on %s: %w", cfg.Volume, vmScratchPath, err)
		}
		if err := os.Chmod(vmScratchPath, 0o1777); err != nil {
			return fmt.Errorf("scratch: %w", err)
		}
	}
	return nil
}

// fsTypeAt returns the type of the last mount at dir in /proc/mounts, or
// that of the root.
func fsTypeAt(dir string) string {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return ""
	}
	t, root := "", ""
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		if f[1] == dir {
			t = f[2]
		}
		if f[1] == "/" {
			root = f[2]
		}
	}
	if t == "" {
		return root
	}
	return t
}

// makeRaw puts a terminal in raw mode: no echo, no line editing, no
// translation of newlines, 8-bit clean.
func makeRaw(f *os.File) error {
	var t syscall.Termios
	fd := f.Fd()
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return fmt.Errorf("reading terminal settings: %w", e)
	}
	t.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP | syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON | syscall.IXOFF
	t.Oflag &^= syscall.OPOST
	t.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
	t.Cflag &^= syscall.CSIZE | syscall.PARENB
	t.Cflag |= syscall.CS8 | syscall.CLOCAL | syscall.CREAD
	t.Cc[syscall.VMIN], t.Cc[syscall.VTIME] = 1, 0
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCSETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return fmt.Errorf("setting raw mode: %w", e)
	}
	return nil
}

// loopbackUp brings the loopback interface up.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte
	copy(ifr[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	flags := *(*uint16)(unsafe.Pointer(&ifr[16]))
	*(*uint16)(unsafe.Pointer(&ifr[16])) = flags | syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return e
	}
	return nil
}

// reapOrphans collects the zombies re-parented to the agent (PID 1). The
// agent's own commands run in process groups of their own (Execute sets
// Setpgid), so each is its group's leader and its exit status belongs to
// the goroutine waiting for it; an orphan left by a command stays in that
// command's group, so its pid differs from its group id. Only those are
// reaped here. (An orphan that made itself a group leader stays a zombie
// until the guest powers off.)
func reapOrphans() {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] != "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		if ppid == self && pgrp != pid {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
	}
}

// uptime returns the kernel's uptime from /proc/uptime.
func uptime() int64 {
	f, err := os.Open("/proc/uptime")
	if err != nil {
		return 0
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString(' ')
	s, err := strconv.ParseFloat(strings.TrimSpace(line), 64)
	if err != nil {
		return 0
	}
	return int64(s * 1e9)
}

func onlineCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return 0
	}
	n := 0
	for _, part := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, ok := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		if !ok {
			if err1 == nil {
				n++
			}
			continue
		}
		b, err2 := strconv.Atoi(hi)
		if err1 == nil && err2 == nil && b >= a {
			n += b - a + 1
		}
	}
	return n
}

// powerOff powers the guest off; it returns only if that fails.
func powerOff() {
	syscall.Sync()
	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}
