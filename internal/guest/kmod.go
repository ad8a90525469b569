package guest

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// maxModinfo bounds the .modinfo section read from one kernel module.
const maxModinfo = 1 << 20

// ModuleInfo is what a kernel module says of itself in its .modinfo
// section: the fields that loading it in the right order needs.
type ModuleInfo struct {
	// Name is the module's name ("virtio_blk"): its name= field, else the
	// file name without ".ko" with '-' turned into '_'.
	Name string `json:"name"`
	// Depends are the modules that must be loaded first (depends=).
	Depends []string `json:"depends,omitempty"`
	// SoftPre are the modules or aliases named by "softdep=pre:", loaded
	// first when present (ext4 wants crc32c).
	SoftPre []string `json:"softdep_pre,omitempty"`
	// Aliases are the module's alias= fields, without device-table globs.
	Aliases []string `json:"aliases,omitempty"`
	// Vermagic is the kernel release and options the module was built for.
	Vermagic string `json:"vermagic,omitempty"`
}

// Release returns the kernel release a module was built for: the first
// word of its vermagic.
func (m ModuleInfo) Release() string {
	f := strings.Fields(m.Vermagic)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// ModuleName turns a module file name ("crc32c-intel.ko") into the module
// name the kernel uses ("crc32c_intel").
func ModuleName(file string) string {
	base := file
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	for _, ext := range []string{".ko.xz", ".ko.zst", ".ko.gz", ".ko"} {
		if strings.HasSuffix(base, ext) {
			base = strings.TrimSuffix(base, ext)
			break
		}
	}
	return strings.ReplaceAll(base, "-", "_")
}

// ReadModuleInfo reads the .modinfo section of an uncompressed kernel
// module (an ELF relocatable file). file names it in errors and gives the
// name when the section has none.
func ReadModuleInfo(r io.ReaderAt, file string) (ModuleInfo, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return ModuleInfo{}, fmt.Errorf("kernel module %s: not an ELF file: %w", file, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return ModuleInfo{}, fmt.Errorf("kernel module %s: no .modinfo section", file)
	}
	if sec.Size > maxModinfo {
		return ModuleInfo{}, fmt.Errorf("kernel module %s: .modinfo section of %d bytes (limit %d)", file, sec.Size, maxModinfo)
	}
	b, err := sec.Data()
	if err != nil {
		return ModuleInfo{}, fmt.Errorf("kernel module %s: reading .modinfo: %w", file, err)
	}
	m, err := ParseModinfo(b)
	if err != nil {
		return ModuleInfo{}, fmt.Errorf("kernel module %s: %w", file, err)
	}
	if m.Name == "" {
		m.Name = ModuleName(file)
	}
	return m, nil
}

// ParseModinfo parses the contents of a .modinfo section: NUL-separated
// key=value strings.
func ParseModinfo(b []byte) (ModuleInfo, error) {
	var m ModuleInfo
	for i, field := range bytes.Split(b, []byte{0}) {
		if len(field) == 0 {
			continue
		}
		key, val, ok := bytes.Cut(field, []byte{'='})
		if !ok {
			return m, fmt.Errorf(".modinfo field %d (%q): no '='", i+1, clipText(string(field), 60))
		}
		v := string(val)
		switch string(key) {
		case "name":
			if !validModuleName(v) {
				return m, fmt.Errorf(".modinfo field %d: bad module name %q", i+1, clipText(v, 60))
			}
			m.Name = v
		case "depends":
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d == "" {
					continue
				}
				if !validModuleName(strings.ReplaceAll(d, "-", "_")) {
					return m, fmt.Errorf(".modinfo field %d: bad dependency %q", i+1, clipText(d, 60))
				}
				m.Depends = append(m.Depends, strings.ReplaceAll(d, "-", "_"))
			}
		case "softdep":
			m.SoftPre = append(m.SoftPre, parseSoftdepPre(v)...)
		case "alias":
			if !strings.ContainsAny(v, "*?[:") {
				m.Aliases = append(m.Aliases, v)
			}
		case "vermagic":
			m.Vermagic = strings.TrimSpace(v)
		}
	}
	return m, nil
}

// parseSoftdepPre returns the names after "pre:" in a softdep value such as
// "pre: crc32c post: foo".
func parseSoftdepPre(v string) []string {
	var out []string
	pre := false
	for _, w := range strings.Fields(v) {
		switch w {
		case "pre:":
			pre = true
		case "post:":
			pre = false
		default:
			if pre && len(w) <= 64 {
				out = append(out, w)
			}
		}
	}
	return out
}

func validModuleName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ModuleSet is the modules of one kernel, by name, with the names of the
// modules built into the kernel.
type ModuleSet struct {
	Modules map[string]ModuleInfo
	// Files maps a module name to its file, relative to the modules
	// directory.
	Files map[string]string
	// Builtin are the names of modules built into the kernel image.
	Builtin map[string]bool
}

// lookup finds a module by name or alias. Among several modules with an
// alias it prefers a generic implementation ("crc32c_generic"), then the
// first by name, so the choice is the same on every run.
func (s *ModuleSet) lookup(name string) (string, bool) {
	n := strings.ReplaceAll(name, "-", "_")
	if s.Builtin[n] {
		return n, true
	}
	if _, ok := s.Modules[n]; ok {
		return n, true
	}
	var cands []string
	for mn, m := range s.Modules {
		for _, a := range m.Aliases {
			if a == name || a == "crypto-"+name {
				cands = append(cands, mn)
				break
			}
		}
	}
	if len(cands) == 0 {
		return "", false
	}
	sort.Slice(cands, func(i, j int) bool {
		gi, gj := strings.HasSuffix(cands[i], "_generic"), strings.HasSuffix(cands[j], "_generic")
		if gi != gj {
			return gi
		}
		return cands[i] < cands[j]
	})
	return cands[0], true
}

// ErrNoModule is matched by the error of LoadOrder for a wanted module
// that is neither a module nor built into the kernel.
var ErrNoModule = errors.New("no such kernel module")

// LoadOrder returns the modules to insert, dependencies first, so that each
// wanted module (a name or an alias) is loaded; built-in modules are left
// out. A wanted module that does not exist gives an error matching
// ErrNoModule; a missing hard dependency or a dependency cycle is an error
// too. Soft dependencies are loaded first when they exist.
func (s *ModuleSet) LoadOrder(wanted ...string) ([]string, error) {
	var order []string
	state := map[string]int{} // 0 unseen, 1 visiting, 2 done
	var visit func(name, from string) error
	visit = func(name, from string) error {
		n, ok := s.lookup(name)
		if !ok {
			if from == "" {
				return fmt.Errorf("%w: %s", ErrNoModule, name)
			}
			return fmt.Errorf("module %s needs %s, which is neither a module nor built in", from, name)
		}
		if s.Builtin[n] {
			return nil
		}
		switch state[n] {
		case 1:
			return fmt.Errorf("module dependency cycle through %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		m := s.Modules[n]
		for _, p := range m.SoftPre {
			if _, ok := s.lookup(p); ok {
				if err := visit(p, n); err != nil {
					return err
				}
			}
		}
		for _, d := range m.Depends {
			if err := visit(d, n); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, w := range wanted {
		if err := visit(w, ""); err != nil {
			return order, err
		}
	}
	return order, nil
}

// Has reports whether name (or an alias) is a module or built in.
func (s *ModuleSet) Has(name string) bool {
	_, ok := s.lookup(name)
	return ok
}

// IsBuiltin reports whether name is built into the kernel.
func (s *ModuleSet) IsBuiltin(name string) bool {
	n, ok := s.lookup(name)
	return ok && s.Builtin[n]
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
