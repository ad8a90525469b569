package guest

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Kernel image formats.
const (
	FormatBzImage = "bzImage" // a compressed x86 boot image (vmlinuz)
	FormatELF     = "elf"     // an uncompressed ELF vmlinux
)

// BzImage is what the header of an x86 bzImage says (the Linux x86 boot
// protocol).
type BzImage struct {
	// Protocol is the boot protocol version, e.g. 0x020f.
	Protocol uint16
	// Version is the kernel_version string, e.g. "6.1.0-56-amd64 (...)".
	Version string
	// PayloadOffset and PayloadLength locate the compressed kernel in the
	// file (absolute file offset).
	PayloadOffset int64
	PayloadLength int64
	// Compression names the payload's format ("gzip", "xz", "zstd", ...),
	// from its magic bytes; "" when unknown.
	Compression string
}

// ParseBzImage reads the boot header of an x86 bzImage from the first
// bytes of the file (at least 1 KiB, more to find the version string).
func ParseBzImage(b []byte) (BzImage, error) {
	var z BzImage
	if len(b) < 0x250 {
		return z, fmt.Errorf("bzImage: file of %d bytes is too short for a boot header", len(b))
	}
	if string(b[0x202:0x206]) != "HdrS" {
		return z, errors.New("bzImage: no \"HdrS\" boot header magic at offset 0x202")
	}
	z.Protocol = binary.LittleEndian.Uint16(b[0x206:])
	if z.Protocol < 0x0208 {
		return z, fmt.Errorf("bzImage: boot protocol %#x is older than 2.08 (no payload fields)", z.Protocol)
	}
	setup := int64(b[0x1f1])
	if setup == 0 {
		setup = 4
	}
	if vp := int64(binary.LittleEndian.Uint16(b[0x20e:])); vp != 0 {
		off := vp + 0x200
		if off < int64(len(b)) {
			s := b[off:]
			if i := bytes.IndexByte(s, 0); i >= 0 {
				s = s[:i]
			}
			if len(s) > 256 {
				s = s[:256]
			}
			z.Version = strings.TrimSpace(string(s))
		}
	}
	z.PayloadOffset = (setup+1)*512 + int64(binary.LittleEndian.Uint32(b[0x248:]))
	z.PayloadLength = int64(binary.LittleEndian.Uint32(b[0x24c:]))
	if z.PayloadLength <= 0 {
		return z, errors.New("bzImage: the header gives no payload")
	}
	if z.PayloadOffset < int64(len(b)) {
		z.Compression = compressionOf(b[z.PayloadOffset:])
	}
	return z, nil
}

// Release returns the first word of the version string: the kernel
// release, e.g. "6.1.0-56-amd64".
func (z BzImage) Release() string {
	f := strings.Fields(z.Version)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// compressionOf names the compression format whose magic b starts with.
func compressionOf(b []byte) string {
	for _, m := range []struct {
		name  string
		magic []byte
	}{
		{"gzip", []byte{0x1f, 0x8b}},
		{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0}},
		{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
		{"lz4", []byte{0x02, 0x21, 0x4c, 0x18}},
		{"bzip2", []byte("BZh")},
		{"lzo", []byte{0x89, 'L', 'Z', 'O'}},
		{"lzma", []byte{0x5d, 0x00, 0x00}},
	} {
		if bytes.HasPrefix(b, m.magic) {
			return m.name
		}
	}
	return ""
}

// decompressors are the host tools that unpack a bzImage payload of each
// compression other than gzip, with the flags that make them ignore the
// size word the kernel build appends.
var decompressors = map[string][]string{
	"xz":    {"xz", "-dc", "--single-stream"},
	"lzma":  {"xz", "-dc", "--format=lzma"},
	"zstd":  {"zstd", "-dcq"},
	"bzip2": {"bzip2", "-dc"},
	"lz4":   {"lz4", "-dc"},
	"lzo":   {"lzop", "-dc"},
}

// ExtractVmlinux unpacks the ELF vmlinux inside the bzImage at path into
// out. gzip is unpacked in process; other formats with their host tool
// (xz for the xz the distributions use), which must be installed. The
// result is checked to be an ELF executable.
func ExtractVmlinux(ctx context.Context, path, out string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("extract vmlinux: %w", err)
	}
	defer f.Close()
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("extract vmlinux from %s: %w", path, err)
	}
	z, err := ParseBzImage(head[:n])
	if err != nil {
		return fmt.Errorf("extract vmlinux from %s: %w", path, err)
	}
	payload := io.NewSectionReader(f, z.PayloadOffset, z.PayloadLength)
	w, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("extract vmlinux: %w", err)
	}
	err = decompress(ctx, z.Compression, payload, w)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = checkELFKernel(out)
	}
	if err != nil {
		os.Remove(out)
		return fmt.Errorf("extract vmlinux from %s (%s payload): %w", path, z.Compression, err)
	}
	return nil
}

func decompress(ctx context.Context, format string, r io.Reader, w io.Writer) error {
	if format == "gzip" {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		zr.Multistream(false)
		_, err = io.Copy(w, zr)
		return err
	}
	tool, ok := decompressors[format]
	if !ok {
		return fmt.Errorf("unknown payload compression %q", format)
	}
	if _, err := exec.LookPath(tool[0]); err != nil {
		return fmt.Errorf("the payload is %s-compressed and %s is not installed", format, tool[0])
	}
	cmd := exec.CommandContext(ctx, tool[0], tool[1:]...)
	cmd.Stdin, cmd.Stdout = r, w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		// lz4 and zstd complain about the appended size word after writing
		// everything; the ELF check afterwards decides.
		if format == "zstd" || format == "lz4" {
			return nil
		}
		return fmt.Errorf("%s: %w: %s", tool[0], err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func checkELFKernel(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("the result is not an ELF file: %w", err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		return fmt.Errorf("the result is an ELF file of type %s, not an executable", f.Type)
	}
	return nil
}

// ELFKernel is what an uncompressed ELF vmlinux says of itself.
type ELFKernel struct {
	Machine string
	// PVH says whether it has a Xen PVH entry point note
	// (XEN_ELFNOTE_PHYS32_ENTRY), which Cloud Hypervisor and Firecracker's
	// PVH boot use.
	PVH bool
	// Version is the kernel's banner ("Linux version ..."), when found.
	Version string
}

// xenElfnotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY.
const xenElfnotePhys32Entry = 18

// ReadELFKernel reads an ELF vmlinux: machine, PVH note and banner.
func ReadELFKernel(path string) (ELFKernel, error) {
	f, err := elf.Open(path)
	if err != nil {
		return ELFKernel{}, fmt.Errorf("%s: not an ELF file: %w", path, err)
	}
	defer f.Close()
	k := ELFKernel{Machine: f.Machine.String()}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE || p.Filesz > 1<<20 {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			continue
		}
		if hasNote(b, "Xen", xenElfnotePhys32Entry, f.ByteOrder) {
			k.PVH = true
		}
	}
	for _, s := range f.Sections {
		if s.Name != ".rodata" || s.Type == elf.SHT_NOBITS {
			continue
		}
		k.Version = findBanner(s.Open())
	}
	return k, nil
}

// hasNote reports whether the ELF notes in b hold one of the name and type.
func hasNote(b []byte, name string, typ uint32, bo binary.ByteOrder) bool {
	for len(b) >= 12 {
		nsz, dsz, t := bo.Uint32(b), bo.Uint32(b[4:]), bo.Uint32(b[8:])
		b = b[12:]
		np, dp := align4(uint64(nsz)), align4(uint64(dsz))
		if np > uint64(len(b)) || np+dp > uint64(len(b)) {
			return false
		}
		n := strings.TrimRight(string(b[:nsz]), "\x00")
		if n == name && t == typ {
			return true
		}
		b = b[np+dp:]
	}
	return false
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// findBanner looks for "Linux version ..." in the first 64 MiB of r and
// returns the line.
func findBanner(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<20))
	i := bytes.Index(b, []byte("Linux version "))
	if i < 0 {
		return ""
	}
	s := b[i:]
	if j := bytes.IndexAny(s, "\x00\n"); j >= 0 {
		s = s[:j]
	}
	if len(s) > 512 {
		s = s[:512]
	}
	return strings.TrimSpace(string(s))
}
