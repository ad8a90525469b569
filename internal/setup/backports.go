package setup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Some packages isobench uses are in the distribution's backports suite
// only (Incus on Debian 12). Setup enables that suite by adding one apt
// source that reuses the mirror, keys and components of the distribution's
// own source — never a host name of its own — and installs those packages
// with `apt-get install -t <codename>-backports`.

// backportsSourceName is the file setup writes under sources.list.d; the
// extension (.sources or .list) follows the format of the source it copies.
const backportsSourceName = "isobench-backports"

// aptTarget is one index target of a configured apt source, as
// `apt-get indextargets` reports it.
type aptTarget struct {
	RepoURI string // e.g. the mirror's URI with a trailing slash
	Release string // the suite, e.g. "bookworm"
	Origin  string // from the Release file, e.g. "Debian"; "" before apt-get update
	Entry   string // Sourcesentry: "FILE:N" (N is the stanza of a .sources file, the line of a .list file)
}

// indexTargetsFormat is the --format of `apt-get indextargets` that
// parseIndexTargets reads: fields separated by tabs.
const indexTargetsFormat = "$(REPO_URI)\t$(RELEASE)\t$(ORIGIN)\t$(SOURCESENTRY)"

// parseIndexTargets reads the output of `apt-get indextargets --format
// indexTargetsFormat`. apt prints a format variable it has no value for as
// itself ("$(ORIGIN)"), which is read as empty.
func parseIndexTargets(r io.Reader) ([]aptTarget, error) {
	var out []aptTarget
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			return nil, fmt.Errorf("apt-get indextargets line %d: %d tab-separated fields, want 4: %q", n, len(f), clipText(line, 200))
		}
		for i := range f {
			if strings.HasPrefix(f[i], "$(") {
				f[i] = ""
			}
		}
		if f[0] == "" || f[1] == "" || f[3] == "" {
			return nil, fmt.Errorf("apt-get indextargets line %d: empty repository URI, release or sources entry: %q", n, clipText(line, 200))
		}
		out = append(out, aptTarget{RepoURI: f[0], Release: f[1], Origin: f[2], Entry: f[3]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading apt-get indextargets: %w", err)
	}
	return out, nil
}

// osRelease holds the fields of os-release(5) setup needs.
type osRelease struct {
	ID       string // "debian"
	Codename string // VERSION_CODENAME, "bookworm"
}

// parseOSRelease reads os-release(5): KEY=VALUE lines, values optionally
// quoted.
func parseOSRelease(r io.Reader) (osRelease, error) {
	var o osRelease
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		switch k {
		case "ID":
			o.ID = v
		case "VERSION_CODENAME":
			o.Codename = v
		}
	}
	if err := sc.Err(); err != nil {
		return o, err
	}
	if o.ID == "" || o.Codename == "" {
		return o, errors.New("os-release has no ID or VERSION_CODENAME")
	}
	return o, nil
}

// distOrigin is the Origin of the distribution's own archive, as its
// Release files say it: the os-release ID with a capital ("debian" ->
// "Debian", "ubuntu" -> "Ubuntu").
func distOrigin(id string) string {
	if id == "" {
		return ""
	}
	return strings.ToUpper(id[:1]) + id[1:]
}

// findDistTarget returns the index target of the distribution's main suite
// (release == codename, origin == the distribution's), the source the
// backports entry copies.
func findDistTarget(targets []aptTarget, origin, codename string) (aptTarget, error) {
	for _, t := range targets {
		if t.Release == codename && t.Origin == origin {
			return t, nil
		}
	}
	return aptTarget{}, fmt.Errorf("apt has no source of %s's own archive for suite %s (apt-get indextargets lists none with Origin %q); add the %s-backports suite of your mirror by hand", origin, codename, origin, codename)
}

// hasRelease reports whether a target of the suite is configured.
func hasRelease(targets []aptTarget, release string) bool {
	for _, t := range targets {
		if t.Release == release {
			return true
		}
	}
	return false
}

// splitEntry splits a Sourcesentry "FILE:N".
func splitEntry(entry string) (file string, n int, err error) {
	i := strings.LastIndexByte(entry, ':')
	if i <= 0 {
		return "", 0, fmt.Errorf("apt sources entry %q: want FILE:N", entry)
	}
	n, err = strconv.Atoi(entry[i+1:])
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("apt sources entry %q: bad number after the colon", entry)
	}
	return entry[:i], n, nil
}

// backportsSource returns the sources file (its extension and content)
// that adds suite from the same source as the entry n of the sources file
// named file, whose content is given: for a deb822 .sources file, stanza n
// with its Suites replaced (URIs, Components, Signed-By and the rest kept);
// for a one-line .list file, line n with its suite replaced. repoURI is
// what apt says the entry's URI is, checked against the entry found.
func backportsSource(file string, content []byte, n int, repoURI, suite string) (ext string, text []byte, err error) {
	header := fmt.Sprintf("# Added by isobench setup: the %s suite from the same source as %s.\n", suite, file)
	switch {
	case strings.HasSuffix(file, ".sources"):
		st, err := deb822Stanza(content, n)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", file, err)
		}
		var b bytes.Buffer
		b.WriteString(header)
		uriOK := false
		for _, f := range st {
			switch strings.ToLower(f.name) {
			case "suites":
				f.value = suite
			case "types":
				f.value = "deb"
			case "enabled":
				continue
			case "uris":
				for _, u := range strings.Fields(f.value) {
					uriOK = uriOK || sameURI(u, repoURI)
				}
			}
			b.WriteString(f.name + ":")
			for i, l := range strings.Split(f.value, "\n") {
				if i > 0 {
					b.WriteString("\n")
				}
				if l != "" || i == 0 {
					b.WriteString(" ")
				}
				b.WriteString(l)
			}
			b.WriteString("\n")
		}
		if !uriOK {
			return "", nil, fmt.Errorf("%s: stanza %d does not list URI %s", file, n, repoURI)
		}
		return ".sources", b.Bytes(), nil
	case strings.HasSuffix(file, ".list"):
		lines := strings.Split(string(content), "\n")
		if n > len(lines) {
			return "", nil, fmt.Errorf("%s has %d lines, apt names line %d", file, len(lines), n)
		}
		line, err := oneLineSource(lines[n-1], repoURI, suite)
		if err != nil {
			return "", nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		return ".list", []byte(header + line + "\n"), nil
	}
	return "", nil, fmt.Errorf("%s: neither a .sources nor a .list file", file)
}

// field is one field of a deb822 stanza; a multi-line value keeps its
// continuation lines (without their leading space) joined by newlines.
type field struct{ name, value string }

// deb822Stanza returns the fields of stanza n (1-based) of a deb822 file.
// Comment lines are skipped; stanzas are separated by blank lines; a block
// of comments alone is not a stanza.
func deb822Stanza(content []byte, n int) ([]field, error) {
	var cur []field
	count := 0
	lineNo := 0
	sc := bufio.NewScanner(bytes.NewReader(content))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	end := func() bool {
		if len(cur) == 0 {
			return false
		}
		count++
		return count == n
	}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			if end() {
				return cur, nil
			}
			cur = nil
		case strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if len(cur) == 0 {
				return nil, fmt.Errorf("line %d: continuation line outside a field", lineNo)
			}
			l := strings.TrimSpace(line)
			if l == "." {
				l = ""
			}
			cur[len(cur)-1].value += "\n" + l
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t") {
				return nil, fmt.Errorf("line %d: not a field: %q", lineNo, clipText(line, 120))
			}
			cur = append(cur, field{name: name, value: strings.TrimSpace(value)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if end() {
		return cur, nil
	}
	return nil, fmt.Errorf("no stanza %d (the file has %d)", n, count)
}

// oneLineSource rewrites a one-line-style source ("deb [opts] URI SUITE
// COMPONENTS...") to name suite instead of its suite.
func oneLineSource(line, repoURI, suite string) (string, error) {
	s := strings.TrimSpace(line)
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	typ, rest, ok := strings.Cut(s, " ")
	if !ok || typ != "deb" {
		return "", fmt.Errorf("not a deb line: %q", clipText(line, 120))
	}
	rest = strings.TrimSpace(rest)
	opts := ""
	if strings.HasPrefix(rest, "[") {
		i := strings.IndexByte(rest, ']')
		if i < 0 {
			return "", fmt.Errorf("options not closed with ']': %q", clipText(line, 120))
		}
		opts, rest = rest[:i+1], strings.TrimSpace(rest[i+1:])
	}
	f := strings.Fields(rest)
	if len(f) < 3 {
		return "", fmt.Errorf("want URI, suite and components: %q", clipText(line, 120))
	}
	if !sameURI(f[0], repoURI) {
		return "", fmt.Errorf("line names URI %s, apt says %s", f[0], repoURI)
	}
	out := []string{"deb"}
	if opts != "" {
		out = append(out, opts)
	}
	out = append(out, f[0], suite)
	out = append(out, f[2:]...)
	return strings.Join(out, " "), nil
}

func sameURI(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// aptTargets runs `apt-get indextargets` and parses it.
func aptTargets(ctx context.Context) ([]aptTarget, error) {
	out, err := exec.CommandContext(ctx, "apt-get", "indextargets", "--format", indexTargetsFormat, "Identifier: Packages").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("apt-get indextargets: %w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("apt-get indextargets: %w", err)
	}
	return parseIndexTargets(bytes.NewReader(out))
}

// enableBackports makes sure apt has the distribution's backports suite,
// adding a source that copies the distribution's own (its mirror, keys and
// components) when there is none, and returns the suite's name. It expects
// `apt-get update` to have run (apt knows Origins from Release files only).
// added is true when it wrote a source, after which apt-get update must run
// again.
func enableBackports(ctx context.Context, w io.Writer, sourcesDir string, dryRun bool) (suite string, added bool, err error) {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return "", false, fmt.Errorf("finding the distribution's codename: %w", err)
	}
	osr, err := parseOSRelease(f)
	f.Close()
	if err != nil {
		return "", false, fmt.Errorf("/etc/os-release: %w", err)
	}
	suite = osr.Codename + "-backports"
	targets, err := aptTargets(ctx)
	if err != nil {
		return "", false, err
	}
	if hasRelease(targets, suite) {
		fmt.Fprintf(w, "ok       %-16s apt source of the %s suite\n", suite, suite)
		return suite, false, nil
	}
	t, err := findDistTarget(targets, distOrigin(osr.ID), osr.Codename)
	if err != nil {
		return "", false, err
	}
	file, n, err := splitEntry(t.Entry)
	if err != nil {
		return "", false, err
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return "", false, fmt.Errorf("reading the distribution's apt source: %w", err)
	}
	ext, text, err := backportsSource(file, content, n, t.RepoURI, suite)
	if err != nil {
		return "", false, err
	}
	path := filepath.Join(sourcesDir, backportsSourceName+ext)
	if dryRun {
		fmt.Fprintf(w, "would write %s:\n%s", path, text)
		return suite, false, nil
	}
	if err := os.WriteFile(path, text, 0o644); err != nil {
		return "", false, fmt.Errorf("adding the %s apt source: %w", suite, err)
	}
	fmt.Fprintf(w, "wrote %s (the %s suite from the source in %s)\n", path, suite, file)
	return suite, true, nil
}

// installBackports enables the backports suite if needed and installs pkgs
// from it. Recommended packages come too: Incus recommends what its VMs
// and storage drivers need.
func installBackports(ctx context.Context, w io.Writer, pkgs []string) error {
	suite, added, err := enableBackports(ctx, w, "/etc/apt/sources.list.d", false)
	if err != nil {
		return err
	}
	if added {
		if err := runLogged(ctx, w, "apt-get", "update", "-q"); err != nil {
			return err
		}
	}
	args := append([]string{"install", "-y", "-q", "-t", suite}, pkgs...)
	return runLogged(ctx, w, "apt-get", args...)
}
