package image

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// Bounds on what is read from one ELF file, so that a hostile or broken
// file costs little.
const (
	maxInterpLen  = 4096     // PATH_MAX
	maxDynamicLen = 1 << 20  // bytes of the dynamic segment
	maxStrtabLen  = 16 << 20 // bytes of the dynamic string table
)

// errNotELF is returned by parseELF for a file without the ELF magic.
var errNotELF = errors.New("not an ELF file")

// elfInfo is what the image builder and Verify need from one ELF file: its
// kind, its program interpreter and its dynamic dependencies.
type elfInfo struct {
	class   elf.Class
	data    elf.Data
	machine elf.Machine
	typ     elf.Type
	// interp is the PT_INTERP path, "" when there is none.
	interp string
	// needed, rpath and runpath are DT_NEEDED, DT_RPATH and DT_RUNPATH, the
	// search paths split at ':'.
	needed  []string
	rpath   []string
	runpath []string
}

// static reports whether the file needs no dynamic loader and no library.
func (e *elfInfo) static() bool { return e.interp == "" && len(e.needed) == 0 }

// compatible reports whether a library o can be loaded by e: same class,
// byte order and machine, as the dynamic loader requires.
func (e *elfInfo) compatible(o *elfInfo) bool {
	return e.class == o.class && e.data == o.data && e.machine == o.machine
}

// loadable reports whether the file is an executable or a shared object.
func (e *elfInfo) loadable() bool { return e.typ == elf.ET_EXEC || e.typ == elf.ET_DYN }

// arch names the file's class and machine, e.g. "ELFCLASS64 EM_X86_64".
func (e *elfInfo) arch() string { return e.class.String() + " " + e.machine.String() }

// readELF reads the ELF file at name (a host path). A file that is not ELF
// gives an error wrapping errNotELF.
func readELF(name string) (*elfInfo, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read ELF file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read ELF file: %w", err)
	}
	info, err := parseELF(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("read ELF file %s: %w", name, err)
	}
	return info, nil
}

// parseELF reads what elfInfo holds from r, which holds size bytes. It
// reads the dynamic section through the program headers, as the dynamic
// loader does, so that files without section headers are read correctly
// too. Nothing larger than the file is ever allocated.
func parseELF(r io.ReaderAt, size int64) (*elfInfo, error) {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil || string(magic[:]) != elf.ELFMAG {
		return nil, errNotELF
	}
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	for _, p := range ef.Progs {
		if p.Off > uint64(size) || p.Filesz > uint64(size)-p.Off {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC || p.Type == elf.PT_LOAD {
				return nil, fmt.Errorf("%v program header reaches beyond the %d-byte file", p.Type, size)
			}
		}
	}
	info := &elfInfo{class: ef.Class, data: ef.Data, machine: ef.Machine, typ: ef.Type}
	var dyn *elf.Prog
	for _, p := range ef.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			if info.interp != "" {
				return nil, errors.New("more than one PT_INTERP program header")
			}
			if p.Filesz == 0 || p.Filesz > maxInterpLen {
				return nil, fmt.Errorf("PT_INTERP of %d bytes (want 1 to %d)", p.Filesz, maxInterpLen)
			}
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return nil, fmt.Errorf("read PT_INTERP: %w", err)
			}
			s, _, _ := strings.Cut(string(b), "\x00")
			if !path.IsAbs(s) {
				return nil, fmt.Errorf("PT_INTERP %q is not an absolute path", s)
			}
			info.interp = s
		case elf.PT_DYNAMIC:
			if dyn != nil {
				return nil, errors.New("more than one PT_DYNAMIC program header")
			}
			dyn = p
		}
	}
	if dyn != nil {
		if err := parseDynamic(ef, dyn, info); err != nil {
			return nil, fmt.Errorf("dynamic segment: %w", err)
		}
	}
	return info, nil
}

// parseDynamic reads DT_NEEDED, DT_RPATH and DT_RUNPATH from the dynamic
// segment, finding the string table by its address in a PT_LOAD segment.
func parseDynamic(ef *elf.File, dyn *elf.Prog, info *elfInfo) error {
	if dyn.Filesz > maxDynamicLen {
		return fmt.Errorf("%d bytes, more than %d", dyn.Filesz, maxDynamicLen)
	}
	d := make([]byte, dyn.Filesz)
	if _, err := dyn.ReadAt(d, 0); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	entSize := 8
	if ef.Class == elf.ELFCLASS64 {
		entSize = 16
	}
	var (
		strtab, strsz          uint64
		haveStrtab             bool
		needed, rpath, runpath []uint64
	)
entries:
	for off := 0; off+entSize <= len(d); off += entSize {
		var tag, val uint64
		if entSize == 16 {
			tag, val = ef.ByteOrder.Uint64(d[off:]), ef.ByteOrder.Uint64(d[off+8:])
		} else {
			tag, val = uint64(ef.ByteOrder.Uint32(d[off:])), uint64(ef.ByteOrder.Uint32(d[off+4:]))
		}
		switch elf.DynTag(tag) {
		case elf.DT_NULL:
			break entries
		case elf.DT_NEEDED:
			needed = append(needed, val)
		case elf.DT_RPATH:
			rpath = append(rpath, val)
		case elf.DT_RUNPATH:
			runpath = append(runpath, val)
		case elf.DT_STRTAB:
			strtab, haveStrtab = val, true
		case elf.DT_STRSZ:
			strsz = val
		}
	}
	if len(needed)+len(rpath)+len(runpath) == 0 {
		return nil
	}
	if !haveStrtab {
		return errors.New("string-valued entries but no DT_STRTAB")
	}
	str, err := readStrtab(ef, strtab, strsz)
	if err != nil {
		return err
	}
	get := func(what string, off uint64) (string, error) {
		if off >= uint64(len(str)) {
			return "", fmt.Errorf("%s string at offset %d is outside the %d-byte string table", what, off, len(str))
		}
		i := bytes.IndexByte(str[off:], 0)
		if i < 0 {
			return "", fmt.Errorf("%s string at offset %d is not NUL-terminated", what, off)
		}
		return string(str[off : off+uint64(i)]), nil
	}
	for _, off := range needed {
		s, err := get("DT_NEEDED", off)
		if err != nil {
			return err
		}
		if s == "" {
			return errors.New("empty DT_NEEDED entry")
		}
		info.needed = append(info.needed, s)
	}
	for _, off := range rpath {
		s, err := get("DT_RPATH", off)
		if err != nil {
			return err
		}
		info.rpath = append(info.rpath, strings.Split(s, ":")...)
	}
	for _, off := range runpath {
		s, err := get("DT_RUNPATH", off)
		if err != nil {
			return err
		}
		info.runpath = append(info.runpath, strings.Split(s, ":")...)
	}
	return nil
}

// readStrtab reads the dynamic string table at virtual address addr from
// the PT_LOAD segment holding it.
func readStrtab(ef *elf.File, addr, size uint64) ([]byte, error) {
	for _, p := range ef.Progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr-p.Vaddr >= p.Filesz {
			continue
		}
		off := addr - p.Vaddr
		avail := p.Filesz - off
		if size == 0 || size > avail {
			size = avail
		}
		if size > maxStrtabLen {
			return nil, fmt.Errorf("string table of %d bytes, more than %d", size, maxStrtabLen)
		}
		b := make([]byte, size)
		if _, err := p.ReadAt(b, int64(off)); err != nil {
			return nil, fmt.Errorf("read string table: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("DT_STRTAB address %#x is in no PT_LOAD segment", addr)
}

// defaultLibDirs returns the directories the dynamic loader searches last,
// after RPATH, RUNPATH and its cache, for objects of the given kind: the
// multiarch directories (Debian and its derivatives), then lib64 (or libx32)
// and lib, each under / and /usr. Directories that do not exist on a system
// cost nothing to search.
func defaultLibDirs(class elf.Class, data elf.Data, m elf.Machine) []string {
	var triplets []string
	var wide string // "lib64", "libx32" or ""
	is64 := class == elf.ELFCLASS64
	switch m {
	case elf.EM_X86_64:
		if is64 {
			triplets, wide = []string{"x86_64-linux-gnu"}, "lib64"
		} else {
			triplets, wide = []string{"x86_64-linux-gnux32"}, "libx32"
		}
	case elf.EM_386:
		triplets = []string{"i386-linux-gnu"}
	case elf.EM_AARCH64:
		triplets, wide = []string{"aarch64-linux-gnu"}, "lib64"
	case elf.EM_ARM:
		triplets = []string{"arm-linux-gnueabihf", "arm-linux-gnueabi"}
	case elf.EM_PPC64:
		wide = "lib64"
		if data == elf.ELFDATA2LSB {
			triplets = []string{"powerpc64le-linux-gnu"}
		} else {
			triplets = []string{"powerpc64-linux-gnu"}
		}
	case elf.EM_S390:
		if is64 {
			triplets, wide = []string{"s390x-linux-gnu"}, "lib64"
		}
	case elf.EM_RISCV:
		if is64 {
			triplets, wide = []string{"riscv64-linux-gnu"}, "lib64"
		}
	case elf.EM_LOONGARCH:
		triplets, wide = []string{"loongarch64-linux-gnu"}, "lib64"
	default:
		if is64 {
			wide = "lib64"
		}
	}
	var dirs []string
	for _, t := range triplets {
		dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
	}
	if wide != "" {
		dirs = append(dirs, "/"+wide, "/usr/"+wide)
	}
	return append(dirs, "/lib", "/usr/lib")
}

// expandSearchPath turns RPATH or RUNPATH elements into absolute
// directories: $ORIGIN (or ${ORIGIN}) becomes origin, the directory of the
// object that names the path. Elements that stay relative (the empty element
// means the working directory) or hold another token ($LIB, $PLATFORM) are
// dropped: an image cannot depend on them.
func expandSearchPath(elems []string, origin string) []string {
	var out []string
	for _, e := range elems {
		e = strings.ReplaceAll(e, "${ORIGIN}", origin)
		e = strings.ReplaceAll(e, "$ORIGIN", origin)
		if strings.Contains(e, "$") || !path.IsAbs(e) {
			continue
		}
		out = append(out, path.Clean(e))
	}
	return out
}

// usesOrigin reports whether any RPATH or RUNPATH element uses $ORIGIN.
func (e *elfInfo) usesOrigin() bool {
	for _, s := range append(append([]string(nil), e.rpath...), e.runpath...) {
		if strings.Contains(s, "$ORIGIN") || strings.Contains(s, "${ORIGIN}") {
			return true
		}
	}
	return false
}

// searchDirs returns the directories searched for e's DT_NEEDED entries
// that have no slash, in the dynamic loader's order: DT_RPATH when there is
// no DT_RUNPATH, then DT_RUNPATH, then the given system directories (the
// loader's cache, approximated by its configuration, and its defaults).
// origin is the directory $ORIGIN stands for.
func (e *elfInfo) searchDirs(origin string, system []string) []string {
	var dirs []string
	if len(e.runpath) == 0 {
		dirs = append(dirs, expandSearchPath(e.rpath, origin)...)
	}
	dirs = append(dirs, expandSearchPath(e.runpath, origin)...)
	return dedupe(append(dirs, system...))
}

// dedupe returns s without repeats, keeping the first of each.
func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// CheckStaticBusybox checks that file is a statically linked ELF
// executable, as the busybox of a VM guest's initramfs must be.
func CheckStaticBusybox(file string) error {
	info, err := readELF(file)
	if errors.Is(err, errNotELF) {
		return fmt.Errorf("%s is not an ELF executable", file)
	}
	if err != nil {
		return err
	}
	if !info.loadable() || !info.static() {
		return fmt.Errorf("%s is not a statically linked executable (Debian package busybox-static)", file)
	}
	return nil
}
