package image

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// ldSoConf is where the glibc dynamic loader's configuration lives.
const ldSoConf = "/etc/ld.so.conf"

// maxIncludeDepth bounds nested include lines in ld.so.conf files.
const maxIncludeDepth = 16

// maxConfLine bounds one line of an ld.so.conf file.
const maxConfLine = 64 << 10

// parseLdSoConf reads the dynamic loader's configuration file name (an
// absolute path) from fsys, a file system rooted at "/", and returns the
// library directories it lists, in order and without repeats.
//
// The format is that of ldconfig(8): one directory per line; '#' starts a
// comment; "include PATTERN..." reads the files matching each glob pattern
// (relative patterns are taken from the including file's directory), in
// sorted order; "hwcap" lines are obsolete and ignored; a legacy "=TYPE"
// suffix on a directory is dropped. A missing top-level file lists no
// directory; a directory given as a relative path, a bad pattern, an
// unreadable included file or an include loop is an error that names the
// file and line.
func parseLdSoConf(fsys fs.FS, name string) ([]string, error) {
	if !path.IsAbs(name) {
		return nil, fmt.Errorf("ld.so.conf %q: not an absolute path", name)
	}
	p := confParser{fsys: fsys, seen: map[string]bool{}}
	data, err := fs.ReadFile(fsys, fsPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if err := p.parse(path.Clean(name), data, nil); err != nil {
		return nil, err
	}
	return p.dirs, nil
}

// confParser holds the state of one parseLdSoConf call.
type confParser struct {
	fsys fs.FS
	dirs []string
	seen map[string]bool // directories already listed
}

// parse reads one configuration file; stack holds the files including it.
func (p *confParser) parse(name string, data []byte, stack []string) error {
	for _, s := range stack {
		if s == name {
			return fmt.Errorf("%s: include loop: %s", name, strings.Join(append(stack, name), " -> "))
		}
	}
	if len(stack) >= maxIncludeDepth {
		return fmt.Errorf("%s: includes nested more than %d deep", name, maxIncludeDepth)
	}
	stack = append(stack, name)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxConfLine)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		switch fields[0] {
		case "include":
			if len(fields) == 1 {
				return fmt.Errorf("%s:%d: include without a pattern", name, line)
			}
			for _, pat := range fields[1:] {
				if err := p.include(name, line, pat, stack); err != nil {
					return err
				}
			}
		case "hwcap":
			// Obsolete: ldconfig ignores these lines.
		default:
			if err := p.addDir(name, line, text); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return nil
}

// include reads every file matching pat, included from name at line.
func (p *confParser) include(name string, line int, pat string, stack []string) error {
	if !path.IsAbs(pat) {
		pat = path.Join(path.Dir(name), pat)
	}
	pat = path.Clean(pat)
	matches, err := fs.Glob(p.fsys, fsPath(pat))
	if err != nil {
		return fmt.Errorf("%s:%d: include %s: %w", name, line, pat, err)
	}
	for _, m := range matches {
		inc := "/" + m
		if m == "." {
			inc = "/"
		}
		st, err := fs.Stat(p.fsys, m)
		if err != nil {
			return fmt.Errorf("%s:%d: include %s: %w", name, line, inc, err)
		}
		if st.IsDir() {
			continue // ldconfig warns and goes on
		}
		data, err := fs.ReadFile(p.fsys, m)
		if err != nil {
			return fmt.Errorf("%s:%d: include %s: %w", name, line, inc, err)
		}
		if err := p.parse(inc, data, stack); err != nil {
			return err
		}
	}
	return nil
}

// addDir records the directory on one line.
func (p *confParser) addDir(name string, line int, text string) error {
	dir := text
	if i := strings.LastIndexByte(dir, '='); i >= 0 && !strings.Contains(dir[i:], "/") {
		dir = strings.TrimSpace(dir[:i]) // legacy "DIR=TYPE"
	}
	if !path.IsAbs(dir) {
		return fmt.Errorf("%s:%d: library directory %q is not an absolute path", name, line, dir)
	}
	dir = path.Clean(dir)
	if !p.seen[dir] {
		p.seen[dir] = true
		p.dirs = append(p.dirs, dir)
	}
	return nil
}

// fsPath turns a clean absolute path into an io/fs path under a file system
// rooted at "/".
func fsPath(p string) string {
	p = strings.TrimPrefix(path.Clean(p), "/")
	if p == "" {
		return "."
	}
	return p
}
