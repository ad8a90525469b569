package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeELF describes a small synthetic ELF64 x86-64 shared object.
type fakeELF struct {
	interp  string
	needed  []string
	rpath   string
	runpath string
	// badStrOff points the first DT_NEEDED outside the string table.
	badStrOff bool
	// noStrtab leaves DT_STRTAB out.
	noStrtab bool
}

// bytes lays the file out: ELF header, program headers (PT_LOAD over the
// whole file, PT_INTERP, PT_DYNAMIC), interpreter, string table, dynamic
// array. It has no section headers, as after sstrip.
func (f fakeELF) bytes() []byte {
	const base = 0x400000
	le := binary.LittleEndian
	nph := 2
	if f.interp != "" {
		nph++
	}
	off := 64 + 56*nph
	interpOff := off
	off += len(f.interp) + 1
	strtab := []byte{0}
	str := func(s string) uint64 {
		o := len(strtab)
		strtab = append(append(strtab, s...), 0)
		return uint64(o)
	}
	type dyn struct{ tag, val uint64 }
	var dyns []dyn
	for _, n := range f.needed {
		dyns = append(dyns, dyn{uint64(elf.DT_NEEDED), str(n)})
	}
	if f.badStrOff && len(dyns) > 0 {
		dyns[0].val = 1 << 20
	}
	if f.rpath != "" {
		dyns = append(dyns, dyn{uint64(elf.DT_RPATH), str(f.rpath)})
	}
	if f.runpath != "" {
		dyns = append(dyns, dyn{uint64(elf.DT_RUNPATH), str(f.runpath)})
	}
	strOff := off
	off += len(strtab)
	off = (off + 7) &^ 7
	if !f.noStrtab {
		dyns = append(dyns, dyn{uint64(elf.DT_STRTAB), uint64(base + strOff)}, dyn{uint64(elf.DT_STRSZ), uint64(len(strtab))})
	}
	dyns = append(dyns, dyn{uint64(elf.DT_NULL), 0})
	dynOff := off
	size := dynOff + 16*len(dyns)

	b := make([]byte, size)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS], b[elf.EI_DATA], b[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le.PutUint16(b[16:], uint16(elf.ET_DYN))
	le.PutUint16(b[18:], uint16(elf.EM_X86_64))
	le.PutUint32(b[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(b[32:], 64) // e_phoff
	le.PutUint16(b[52:], 64) // e_ehsize
	le.PutUint16(b[54:], 56) // e_phentsize
	le.PutUint16(b[56:], uint16(nph))
	ph := 64
	prog := func(typ elf.ProgType, o, n int) {
		le.PutUint32(b[ph:], uint32(typ))
		le.PutUint32(b[ph+4:], uint32(elf.PF_R))
		le.PutUint64(b[ph+8:], uint64(o))
		le.PutUint64(b[ph+16:], uint64(base+o))
		le.PutUint64(b[ph+24:], uint64(base+o))
		le.PutUint64(b[ph+32:], uint64(n))
		le.PutUint64(b[ph+40:], uint64(n))
		le.PutUint64(b[ph+48:], 8)
		ph += 56
	}
	prog(elf.PT_LOAD, 0, size)
	if f.interp != "" {
		prog(elf.PT_INTERP, interpOff, len(f.interp)+1)
		copy(b[interpOff:], f.interp)
	}
	prog(elf.PT_DYNAMIC, dynOff, 16*len(dyns))
	copy(b[strOff:], strtab)
	for i, d := range dyns {
		le.PutUint64(b[dynOff+16*i:], d.tag)
		le.PutUint64(b[dynOff+16*i+8:], d.val)
	}
	return b
}

func TestParseELFSynthetic(t *testing.T) {
	cases := []struct {
		name             string
		in               fakeELF
		raw              []byte // used instead of in when set
		interp           string
		needed           []string
		rpath, runpath   []string
		static           bool
		err              string
		notELF           bool
		anyErr           bool     // any error will do
		searchDirsOrigin []string // searchDirs("/o", ["/sys"]), when set
	}{
		{name: "static", in: fakeELF{}, static: true},
		{name: "dynamic", in: fakeELF{interp: "/lib/ld.so", needed: []string{"libc.so.6", "libm.so.6"}},
			interp: "/lib/ld.so", needed: []string{"libc.so.6", "libm.so.6"}},
		{name: "rpath", in: fakeELF{needed: []string{"liba.so"}, rpath: "$ORIGIN/../lib:/opt/r"},
			needed: []string{"liba.so"}, rpath: []string{"$ORIGIN/../lib", "/opt/r"},
			searchDirsOrigin: []string{"/lib", "/opt/r", "/sys"}},
		{name: "runpath hides rpath", in: fakeELF{needed: []string{"liba.so"}, rpath: "/opt/r", runpath: "${ORIGIN}/x::rel:$LIB/y"},
			needed: []string{"liba.so"}, rpath: []string{"/opt/r"}, runpath: []string{"${ORIGIN}/x", "", "rel", "$LIB/y"},
			searchDirsOrigin: []string{"/o/x", "/sys"}},
		{name: "string outside table", in: fakeELF{needed: []string{"liba.so"}, badStrOff: true}, err: "outside the"},
		{name: "no string table", in: fakeELF{needed: []string{"liba.so"}, noStrtab: true}, err: "no DT_STRTAB"},
		{name: "relative interpreter", in: fakeELF{interp: "ld.so"}, err: `PT_INTERP "ld.so" is not an absolute path`},
		{name: "text", raw: []byte("#!/bin/sh\necho hi\n"), notELF: true},
		{name: "empty", raw: []byte{}, notELF: true},
		{name: "truncated", raw: fakeELF{interp: "/lib/ld.so"}.bytes()[:80], anyErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.raw
			if data == nil {
				data = tc.in.bytes()
			}
			info, err := parseELF(bytes.NewReader(data), int64(len(data)))
			switch {
			case tc.notELF:
				if !errors.Is(err, errNotELF) {
					t.Fatalf("parseELF = %+v, %v; want errNotELF", info, err)
				}
				return
			case tc.anyErr:
				if err == nil {
					t.Fatalf("parseELF of a truncated file = %+v, want an error", info)
				}
				return
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseELF = %+v, %v; want error containing %q", info, err, tc.err)
				}
				return
			case err != nil:
				t.Fatalf("parseELF: %v", err)
			}
			if info.interp != tc.interp || !slices.Equal(info.needed, tc.needed) ||
				!slices.Equal(info.rpath, tc.rpath) || !slices.Equal(info.runpath, tc.runpath) {
				t.Errorf("parseELF = interp %q needed %q rpath %q runpath %q; want %q %q %q %q",
					info.interp, info.needed, info.rpath, info.runpath, tc.interp, tc.needed, tc.rpath, tc.runpath)
			}
			if info.static() != tc.static {
				t.Errorf("static() = %v, want %v", info.static(), tc.static)
			}
			if info.class != elf.ELFCLASS64 || info.machine != elf.EM_X86_64 || !info.loadable() {
				t.Errorf("header read as %s %v", info.arch(), info.typ)
			}
			if tc.searchDirsOrigin != nil {
				if got := info.searchDirs("/o", []string{"/sys"}); !slices.Equal(got, tc.searchDirsOrigin) {
					t.Errorf("searchDirs = %q, want %q", got, tc.searchDirsOrigin)
				}
			}
		})
	}
}

// TestParseELFHost checks parseELF against debug/elf's section-based
// reading on this machine's programs and libraries.
func TestParseELFHost(t *testing.T) {
	var files []string
	for _, name := range []string{"sysbench", "fio", "busybox", "sh", "ls"} {
		if p, err := exec.LookPath(name); err == nil {
			files = append(files, p)
		}
	}
	for _, d := range defaultLibDirs(elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_X86_64) {
		m, _ := filepath.Glob(filepath.Join(d, "*.so*"))
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Skip("too few ELF files on this machine to compare")
	}
	checked := 0
	for _, file := range files {
		ef, err := elf.Open(file)
		if err != nil {
			continue // not ELF (linker scripts named .so) or unreadable
		}
		if ef.SectionByType(elf.SHT_DYNAMIC) == nil {
			ef.Close()
			continue
		}
		needed, err1 := ef.DynString(elf.DT_NEEDED)
		runpath, err2 := ef.DynString(elf.DT_RUNPATH)
		var interp string
		for _, p := range ef.Progs {
			if p.Type == elf.PT_INTERP {
				b := make([]byte, p.Filesz)
				p.ReadAt(b, 0)
				interp = strings.TrimRight(string(b), "\x00")
			}
		}
		ef.Close()
		if err1 != nil || err2 != nil {
			continue
		}
		info, err := readELF(file)
		if err != nil {
			t.Errorf("readELF(%s): %v", file, err)
			continue
		}
		var wantRunpath []string
		for _, r := range runpath {
			wantRunpath = append(wantRunpath, strings.Split(r, ":")...)
		}
		if !slices.Equal(info.needed, needed) || !slices.Equal(info.runpath, wantRunpath) || info.interp != interp {
			t.Errorf("%s: needed %q runpath %q interp %q; debug/elf says %q %q %q",
				file, info.needed, info.runpath, info.interp, needed, wantRunpath, interp)
		}
		checked++
	}
	if checked < 5 {
		t.Skipf("only %d dynamic ELF files compared", checked)
	}
	t.Logf("compared %d ELF files with debug/elf", checked)
}

// TestParseELFNoSections checks that dependencies are read from the
// program headers: a copy of a host program without section headers still
// gives its DT_NEEDED entries, where section-based reading gives none.
func TestParseELFNoSections(t *testing.T) {
	prog, err := exec.LookPath("sysbench")
	if err != nil {
		t.Skip("sysbench not installed")
	}
	b, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	want, err := readELF(prog)
	if err != nil || len(want.needed) == 0 {
		t.Fatalf("readELF(%s) = %+v, %v", prog, want, err)
	}
	if b[elf.EI_CLASS] != byte(elf.ELFCLASS64) || b[elf.EI_DATA] != byte(elf.ELFDATA2LSB) {
		t.Skip("test written for 64-bit little-endian programs")
	}
	binary.LittleEndian.PutUint64(b[40:], 0) // e_shoff
	binary.LittleEndian.PutUint16(b[60:], 0) // e_shnum
	binary.LittleEndian.PutUint16(b[62:], 0) // e_shstrndx
	info, err := parseELF(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("parseELF without sections: %v", err)
	}
	if !slices.Equal(info.needed, want.needed) || info.interp != want.interp {
		t.Errorf("without sections: needed %q interp %q; want %q %q", info.needed, info.interp, want.needed, want.interp)
	}
	ef, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := ef.DynString(elf.DT_NEEDED); len(n) != 0 {
		t.Logf("debug/elf reads %d DT_NEEDED without sections too", len(n))
	}
}

func TestDefaultLibDirs(t *testing.T) {
	cases := []struct {
		class elf.Class
		data  elf.Data
		m     elf.Machine
		first string
		has   string
	}{
		{elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_X86_64, "/lib/x86_64-linux-gnu", "/usr/lib64"},
		{elf.ELFCLASS32, elf.ELFDATA2LSB, elf.EM_386, "/lib/i386-linux-gnu", "/usr/lib"},
		{elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_AARCH64, "/lib/aarch64-linux-gnu", "/lib64"},
		{elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_PPC64, "/lib/powerpc64le-linux-gnu", "/lib64"},
		{elf.ELFCLASS64, elf.ELFDATA2MSB, elf.EM_PPC64, "/lib/powerpc64-linux-gnu", "/lib64"},
		{elf.ELFCLASS64, elf.ELFDATA2LSB, elf.EM_ALPHA, "/lib64", "/usr/lib"},
	}
	for _, tc := range cases {
		t.Run(tc.m.String(), func(t *testing.T) {
			got := defaultLibDirs(tc.class, tc.data, tc.m)
			if got[0] != tc.first || !slices.Contains(got, tc.has) || got[len(got)-1] != "/usr/lib" {
				t.Errorf("defaultLibDirs = %q, want first %s, holding %s, last /usr/lib", got, tc.first, tc.has)
			}
		})
	}
}

// FuzzParseELF checks that no input makes the ELF reader panic and that
// what it accepts is well formed.
func FuzzParseELF(f *testing.F) {
	f.Add(fakeELF{}.bytes())
	f.Add(fakeELF{interp: "/lib/ld.so", needed: []string{"libc.so.6"}, runpath: "$ORIGIN/lib"}.bytes())
	f.Add(fakeELF{needed: []string{"a"}, badStrOff: true}.bytes())
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseELF(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if info.interp != "" && !strings.HasPrefix(info.interp, "/") {
			t.Errorf("accepted relative interpreter %q", info.interp)
		}
		for _, n := range info.needed {
			if n == "" || strings.Contains(n, "\x00") {
				t.Errorf("accepted DT_NEEDED %q", n)
			}
		}
	})
}
