package guest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/cachedir"
	"github.com/isobench/isobench/internal/filecopy"
	"github.com/isobench/isobench/internal/image"
)

// kernelRecipe names the way a kernel is laid out in the cache (and the
// initramfs built for it). It is part of every kernel ID.
const kernelRecipe = "isobench-kernel-recipe-2"

// Names in the kernel cache.
const (
	kernelsName      = "kernels"
	kernelRecordName = "kernel.json"
	defaultKernel    = "default"
	bootImageName    = "vmlinuz"
	vmlinuxName      = "vmlinux"
	configName       = "config"
	modulesName      = "modules"
	initramfsName    = "initramfs.cpio"
)

// GuestModules returns the kernel modules a guest may need, by name or
// alias: the virtio transports of every VMM (virtio-mmio for QEMU microvm
// and Firecracker, virtio-pci for QEMU q35 and Cloud Hypervisor), the
// block device, ext4 (with the crc32c it asks for), the network device
// and vsock. Those built into a kernel need no loading; those a kernel has
// neither way are recorded as missing and checked per VMM (CheckKernel).
func GuestModules() []string {
	return []string{"virtio_mmio", "virtio_pci", "virtio_blk", "ext4", "crc32c", "virtio_net", "vmw_vsock_virtio_transport"}
}

// Kernel is a guest kernel in the cache, with the modules guests need and
// the initramfs that loads them.
type Kernel struct {
	// ID is a digest of every input (kernel, config, modules, busybox,
	// recipe).
	ID  string `json:"id"`
	Dir string `json:"-"`
	// Release is the kernel release, e.g. "6.1.0-56-amd64"; Version the
	// whole version string the kernel carries.
	Release string `json:"release"`
	Version string `json:"version,omitempty"`
	// Source says where the kernel came from: "package NAME VERSION" or
	// "file PATH".
	Source string `json:"source"`
	// Format is FormatBzImage or FormatELF: the boot image as given.
	Format string `json:"format"`
	// HasVmlinux says whether an uncompressed ELF vmlinux is in the cache
	// (given, or extracted from the bzImage); PVH whether it has the PVH
	// entry note.
	HasVmlinux bool `json:"has_vmlinux"`
	PVH        bool `json:"pvh"`
	// VmlinuxError says why no vmlinux could be extracted, when none was.
	VmlinuxError string `json:"vmlinux_error,omitempty"`
	// HasConfig says whether the kernel's build configuration is known.
	HasConfig bool `json:"has_config"`
	// Modules are the modules kept (the closure of GuestModules), Builtin
	// the names of modules built into the kernel, Missing the guest
	// modules the kernel has neither way.
	Modules []ModuleInfo `json:"modules,omitempty"`
	Builtin []string     `json:"builtin,omitempty"`
	Missing []string     `json:"missing,omitempty"`
	Created time.Time    `json:"created"`

	config KernelConfig
}

// BootImage is the kernel as given (bzImage or ELF).
func (k *Kernel) BootImage() string { return filepath.Join(k.Dir, bootImageName) }

// Vmlinux is the uncompressed ELF kernel, or "" when there is none.
func (k *Kernel) Vmlinux() string {
	if !k.HasVmlinux {
		return ""
	}
	return filepath.Join(k.Dir, vmlinuxName)
}

// Initramfs is the initramfs that loads the guest modules and hands over
// to the agent.
func (k *Kernel) Initramfs() string { return filepath.Join(k.Dir, initramfsName) }

// Config returns the kernel's build configuration, or nil when unknown.
func (k *Kernel) Config() KernelConfig { return k.config }

// ModuleSet returns the kept modules and the built-in ones.
func (k *Kernel) ModuleSet() *ModuleSet {
	s := &ModuleSet{Modules: map[string]ModuleInfo{}, Files: map[string]string{}, Builtin: map[string]bool{}}
	for _, m := range k.Modules {
		s.Modules[m.Name] = m
		s.Files[m.Name] = m.Name + ".ko"
	}
	for _, b := range k.Builtin {
		s.Builtin[b] = true
	}
	return s
}

// LoadOrder returns the modules the initramfs must insert, in order, for
// the wanted modules (names or aliases); those built in are left out.
func (k *Kernel) LoadOrder(wanted ...string) ([]string, error) {
	return k.ModuleSet().LoadOrder(wanted...)
}

// KernelOptions says what kernel to put in the cache.
type KernelOptions struct {
	// CacheDir is isobench's cache directory (absolute).
	CacheDir string
	// Kernel is the boot image: a bzImage (vmlinuz) or an ELF vmlinux.
	Kernel string
	// Modules is the kernel's modules directory (/lib/modules/RELEASE), or
	// "" for a kernel with what guests need built in.
	Modules string
	// Config is the kernel's build configuration; "" looks for config-
	// RELEASE beside the kernel and in the modules directory.
	Config string
	// Busybox is a static busybox for the initramfs; "" means
	// image.DefaultBusybox.
	Busybox string
	// Source overrides the recorded source ("file PATH" by default).
	Source string
	// Log receives a line per step; nil discards them.
	Log io.Writer
}

func kernelsDir(cacheDir string) string { return filepath.Join(cacheDir, kernelsName) }

// ImportKernel puts a kernel, the guest modules from its modules directory
// and an initramfs into the cache, records its release and configuration,
// and makes it the default kernel. A kernel already in the cache with the
// same inputs is reused.
func ImportKernel(ctx context.Context, o KernelOptions) (*Kernel, error) {
	if o.CacheDir == "" || !filepath.IsAbs(o.CacheDir) {
		return nil, fmt.Errorf("import kernel: cache directory %q is not an absolute path", o.CacheDir)
	}
	if o.Kernel == "" {
		return nil, errors.New("import kernel: no kernel file given")
	}
	if o.Busybox == "" {
		o.Busybox = image.DefaultBusybox
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	k := &Kernel{Source: o.Source, Created: time.Now().UTC()}
	if k.Source == "" {
		abs, _ := filepath.Abs(o.Kernel)
		k.Source = "file " + abs
	}
	if err := k.identify(o.Kernel); err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	logf(o.Log, "kernel %s (%s) from %s", k.Release, k.Format, k.Source)
	if o.Config == "" {
		o.Config = findConfig(o.Kernel, o.Modules, k.Release)
	}
	if o.Config != "" {
		f, err := os.Open(o.Config)
		if err != nil {
			return nil, fmt.Errorf("import kernel: %w", err)
		}
		k.config, err = ParseKernelConfig(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("import kernel: %s: %w", o.Config, err)
		}
		k.HasConfig = true
	}
	var mods *moduleTree
	if o.Modules != "" {
		var err error
		if mods, err = openModuleTree(o.Modules); err != nil {
			return nil, fmt.Errorf("import kernel: %w", err)
		}
	}
	if err := image.CheckStaticBusybox(o.Busybox); err != nil {
		return nil, fmt.Errorf("import kernel: busybox for the initramfs: %w", err)
	}

	h := sha256.New()
	fmt.Fprintf(h, "%s\n", kernelRecipe)
	for _, p := range []string{o.Kernel, o.Config, o.Busybox} {
		if p == "" {
			fmt.Fprintf(h, "-\n")
			continue
		}
		d, err := cachedir.FileDigest(p)
		if err != nil {
			return nil, fmt.Errorf("import kernel: %w", err)
		}
		fmt.Fprintf(h, "%s\n", d)
	}
	var order []string
	if mods != nil {
		var err error
		order, k.Missing, err = mods.closure(GuestModules())
		if err != nil {
			return nil, fmt.Errorf("import kernel: modules in %s: %w", o.Modules, err)
		}
		for _, n := range order {
			m := mods.info[n]
			if r := m.Release(); r != "" && k.Release != "" && r != k.Release {
				return nil, fmt.Errorf("import kernel: module %s in %s is built for kernel %s, the kernel is %s", n, o.Modules, r, k.Release)
			}
			d, err := cachedir.FileDigest(filepath.Join(mods.dir, mods.files[n]))
			if err != nil {
				return nil, fmt.Errorf("import kernel: %w", err)
			}
			fmt.Fprintf(h, "%s %s\n", n, d)
			k.Modules = append(k.Modules, m)
		}
		k.Builtin = mods.builtinNames()
	} else {
		k.Missing = nil
		for _, w := range GuestModules() {
			if k.config == nil || !k.configBuiltin(w) {
				k.Missing = append(k.Missing, w)
			}
		}
	}
	k.ID = hex.EncodeToString(h.Sum(nil))

	dir := kernelsDir(o.CacheDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	unlock, err := cachedir.Lock(ctx, dir, o.Log)
	if err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	defer unlock()
	if err := cachedir.RemoveLeftovers(dir); err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	final := filepath.Join(dir, k.ID)
	if old, err := OpenKernel(final); err == nil && old.ID == k.ID {
		logf(o.Log, "kernel %s: already in the cache (%s)", k.Release, cachedir.ShortID(k.ID))
		return old, setDefaultKernel(dir, k.ID)
	}
	tmp, err := os.MkdirTemp(dir, cachedir.BuildPrefix)
	if err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	k.Dir = tmp
	if err := filecopy.Copy(o.Kernel, k.BootImage(), 0o644); err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	if o.Config != "" {
		if err := filecopy.Copy(o.Config, filepath.Join(tmp, configName), 0o644); err != nil {
			return nil, fmt.Errorf("import kernel: %w", err)
		}
	}
	if err := k.prepareVmlinux(ctx, o.Log); err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	if mods != nil {
		if err := os.Mkdir(filepath.Join(tmp, modulesName), 0o755); err != nil {
			return nil, fmt.Errorf("import kernel: %w", err)
		}
		for _, n := range order {
			if err := mods.unpack(ctx, n, filepath.Join(tmp, modulesName, n+".ko")); err != nil {
				return nil, fmt.Errorf("import kernel: %w", err)
			}
		}
		logf(o.Log, "kernel %s: kept %d modules (%s)", k.Release, len(order), strings.Join(order, " "))
	}
	if err := writeInitramfs(k, o.Busybox, k.Initramfs()); err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	if err := writeKernelRecord(k); err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	if err := cachedir.Publish(dir, tmp, final); err != nil {
		return nil, fmt.Errorf("import kernel: %w", err)
	}
	k.Dir = final
	logf(o.Log, "kernel %s: in the cache as %s", k.Release, cachedir.ShortID(k.ID))
	return k, setDefaultKernel(dir, k.ID)
}

// configBuiltin reports whether the kernel config builds a guest module
// into the kernel.
func (k *Kernel) configBuiltin(module string) bool {
	opt := configOption(module)
	return opt != "" && k.config.State(opt) == "y"
}

// identify reads the boot image's format and release.
func (k *Kernel) identify(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	head = head[:n]
	if strings.HasPrefix(string(head), "\x7fELF") {
		ek, err := ReadELFKernel(path)
		if err != nil {
			return err
		}
		if ek.Machine != "EM_X86_64" {
			return fmt.Errorf("%s is an ELF kernel for %s; isobench boots x86-64 guests", path, ek.Machine)
		}
		k.Format, k.Version, k.PVH = FormatELF, ek.Version, ek.PVH
		if f := strings.Fields(strings.TrimPrefix(ek.Version, "Linux version ")); len(f) > 0 {
			k.Release = f[0]
		}
		return nil
	}
	z, err := ParseBzImage(head)
	if err != nil {
		return fmt.Errorf("%s is neither an ELF vmlinux nor a bzImage: %w", path, err)
	}
	k.Format, k.Version, k.Release = FormatBzImage, z.Version, z.Release()
	return nil
}

// prepareVmlinux puts an ELF vmlinux beside the boot image: a copy of an
// ELF kernel, or what ExtractVmlinux gets out of a bzImage (a failure is
// recorded, not fatal: QEMU boots the bzImage).
func (k *Kernel) prepareVmlinux(ctx context.Context, log io.Writer) error {
	out := filepath.Join(k.Dir, vmlinuxName)
	if k.Format == FormatELF {
		if err := os.Link(k.BootImage(), out); err != nil {
			return err
		}
		k.HasVmlinux = true
		return nil
	}
	if err := ExtractVmlinux(ctx, k.BootImage(), out); err != nil {
		k.VmlinuxError = err.Error()
		logf(log, "kernel %s: no ELF vmlinux (Firecracker and Cloud Hypervisor need one): %v", k.Release, err)
		return nil
	}
	ek, err := ReadELFKernel(out)
	if err != nil {
		return err
	}
	k.HasVmlinux, k.PVH = true, ek.PVH
	logf(log, "kernel %s: extracted the ELF vmlinux (PVH entry: %v)", k.Release, ek.PVH)
	return nil
}

// findConfig looks for config-RELEASE beside the kernel, then a "config"
// or ".config" in the modules directory and its build link.
func findConfig(kernel, modules, release string) string {
	var cands []string
	if release != "" {
		cands = append(cands, filepath.Join(filepath.Dir(kernel), "config-"+release))
	}
	if modules != "" {
		cands = append(cands, filepath.Join(modules, "config"), filepath.Join(modules, "build", ".config"))
	}
	for _, c := range cands {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() {
			return c
		}
	}
	return ""
}

// kernelRecord is kernel.json.
type kernelRecord struct {
	Recipe string `json:"recipe"`
	Kernel
}

func writeKernelRecord(k *Kernel) error {
	b, err := json.MarshalIndent(kernelRecord{Recipe: kernelRecipe, Kernel: *k}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(filepath.Join(k.Dir, kernelRecordName), append(b, '\n'))
}

// OpenKernel reads the kernel in a cache directory.
func OpenKernel(dir string) (*Kernel, error) {
	b, err := os.ReadFile(filepath.Join(dir, kernelRecordName))
	if err != nil {
		return nil, fmt.Errorf("open kernel %s: %w", dir, err)
	}
	var r kernelRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("open kernel %s: %s: %w", dir, kernelRecordName, err)
	}
	if r.Recipe != kernelRecipe {
		return nil, fmt.Errorf("open kernel %s: made by recipe %q, this isobench uses %q: import it again (isobench image kernel)", dir, r.Recipe, kernelRecipe)
	}
	if !cachedir.IsID(r.ID) {
		return nil, fmt.Errorf("open kernel %s: bad id %q", dir, r.ID)
	}
	k := r.Kernel
	k.Dir = dir
	if k.HasConfig {
		f, err := os.Open(filepath.Join(dir, configName))
		if err != nil {
			return nil, fmt.Errorf("open kernel %s: %w", dir, err)
		}
		k.config, err = ParseKernelConfig(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("open kernel %s: %w", dir, err)
		}
	}
	for _, p := range []string{k.BootImage(), k.Initramfs()} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("open kernel %s: %w", dir, err)
		}
	}
	return &k, nil
}

// ErrNoKernel is matched by the error of DefaultKernel when no guest
// kernel has been put in the cache.
var ErrNoKernel = errors.New("no guest kernel in the cache")

// DefaultKernel returns the kernel last imported or fetched into the cache.
func DefaultKernel(cacheDir string) (*Kernel, error) {
	dir := kernelsDir(cacheDir)
	b, err := os.ReadFile(filepath.Join(dir, defaultKernel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s): run isobench image kernel", ErrNoKernel, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("default kernel: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if !cachedir.IsID(id) {
		return nil, fmt.Errorf("default kernel: %s holds %q, not a kernel id", filepath.Join(dir, defaultKernel), clipText(id, 80))
	}
	return OpenKernel(filepath.Join(dir, id))
}

func setDefaultKernel(dir, id string) error {
	if err := writeFileSync(filepath.Join(dir, defaultKernel), []byte(id+"\n")); err != nil {
		return fmt.Errorf("set default kernel: %w", err)
	}
	return nil
}

// writeFileSync writes a file atomically and durably.
func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// moduleTree is a kernel's modules directory (/lib/modules/RELEASE),
// read lazily: module files are found by name, and parsed when needed.
type moduleTree struct {
	dir     string
	files   map[string]string // name -> path relative to dir
	info    map[string]ModuleInfo
	builtin map[string]bool
}

func openModuleTree(dir string) (*moduleTree, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("modules directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("modules directory %s is not a directory", dir)
	}
	t := &moduleTree{dir: dir, files: map[string]string{}, info: map[string]ModuleInfo{}, builtin: map[string]bool{}}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && p != dir && (e.Name() == "build" || e.Name() == "source") {
			return filepath.SkipDir
		}
		if e.Type().IsRegular() && ModuleName(e.Name()) != e.Name() {
			rel, _ := filepath.Rel(dir, p)
			name := ModuleName(e.Name())
			if _, dup := t.files[name]; !dup || strings.HasPrefix(rel, "updates/") {
				t.files[name] = rel
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading modules directory %s: %w", dir, err)
	}
	if len(t.files) == 0 {
		return nil, fmt.Errorf("modules directory %s holds no kernel module (.ko); give the /lib/modules/RELEASE directory of the kernel", dir)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				t.builtin[ModuleName(l)] = true
			}
		}
	}
	return t, nil
}

// read returns a module's info, reading its file once.
func (t *moduleTree) read(name string) (ModuleInfo, error) {
	if m, ok := t.info[name]; ok {
		return m, nil
	}
	rel := t.files[name]
	b, err := t.contents(context.Background(), rel)
	if err != nil {
		return ModuleInfo{}, err
	}
	m, err := ReadModuleInfo(strings.NewReader(string(b)), rel)
	if err != nil {
		return ModuleInfo{}, err
	}
	m.Name = name
	t.info[name] = m
	return m, nil
}

// contents returns a module file's bytes, uncompressed.
func (t *moduleTree) contents(ctx context.Context, rel string) ([]byte, error) {
	p := filepath.Join(t.dir, rel)
	var tool []string
	switch {
	case strings.HasSuffix(rel, ".ko"):
		return os.ReadFile(p)
	case strings.HasSuffix(rel, ".ko.xz"):
		tool = []string{"xz", "-dc"}
	case strings.HasSuffix(rel, ".ko.zst"):
		tool = []string{"zstd", "-dcq"}
	case strings.HasSuffix(rel, ".ko.gz"):
		tool = []string{"gzip", "-dc"}
	default:
		return nil, fmt.Errorf("module %s: unknown file type", rel)
	}
	cmd := exec.CommandContext(ctx, tool[0], append(tool[1:], p)...)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("module %s: uncompressing with %s: %w", rel, tool[0], err)
	}
	return out, nil
}

func (t *moduleTree) unpack(ctx context.Context, name, to string) error {
	b, err := t.contents(ctx, t.files[name])
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// resolve finds a module by name or alias; for an alias it reads the
// modules whose names start with it (crc32c: crc32c_generic,
// crc32c_intel), then every module.
func (t *moduleTree) resolve(name string) (string, bool, error) {
	n := strings.ReplaceAll(name, "-", "_")
	if t.builtin[n] {
		return n, true, nil
	}
	if _, ok := t.files[n]; ok {
		return n, false, nil
	}
	alias := strings.TrimPrefix(name, "crypto-")
	var first, rest []string
	for mn := range t.files {
		if strings.HasPrefix(mn, strings.ReplaceAll(alias, "-", "_")) {
			first = append(first, mn)
		} else {
			rest = append(rest, mn)
		}
	}
	sort.Strings(first)
	sort.Strings(rest)
	for _, group := range [][]string{first, rest} {
		set := &ModuleSet{Modules: map[string]ModuleInfo{}}
		for _, mn := range group {
			m, err := t.read(mn)
			if err != nil {
				continue // an unreadable module cannot be the one
			}
			set.Modules[mn] = m
		}
		if got, ok := set.lookup(name); ok {
			return got, false, nil
		}
	}
	return "", false, nil
}

// closure returns the modules to keep for the wanted ones, in load order,
// and the wanted ones that are neither modules nor built in.
func (t *moduleTree) closure(wanted []string) (order, missing []string, err error) {
	set := &ModuleSet{Modules: map[string]ModuleInfo{}, Builtin: t.builtin}
	var add func(name string) (bool, error)
	add = func(name string) (bool, error) {
		n, builtin, err := t.resolve(name)
		if err != nil {
			return false, err
		}
		if n == "" {
			return false, nil
		}
		if builtin {
			return true, nil
		}
		if _, done := set.Modules[n]; done {
			return true, nil
		}
		m, err := t.read(n)
		if err != nil {
			return false, err
		}
		set.Modules[n] = m
		for _, p := range m.SoftPre {
			if _, err := add(p); err != nil {
				return false, err
			}
		}
		for _, d := range m.Depends {
			ok, err := add(d)
			if err != nil {
				return false, err
			}
			if !ok {
				return false, fmt.Errorf("module %s needs %s, which is not in %s", n, d, t.dir)
			}
		}
		return true, nil
	}
	var found []string
	for _, w := range wanted {
		ok, err := add(w)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			missing = append(missing, w)
			continue
		}
		found = append(found, w)
	}
	if found, err := set.LoadOrder(found...); err != nil {
		return nil, nil, err
	} else {
		order = found
	}
	// Keep the aliases learned above in the recorded infos.
	for _, n := range order {
		t.info[n] = set.Modules[n]
	}
	return order, missing, nil
}

func (t *moduleTree) builtinNames() []string {
	var out []string
	for n := range t.builtin {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// logf writes one progress line; a failing log writer fails nothing.
func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format+"\n", args...)
}
