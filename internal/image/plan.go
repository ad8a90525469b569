package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

// hostRoot is the root the planner resolves host paths in.
const hostRoot = "/"

// volatileDirs are the image directories that sandboxes mount over or
// write to. They stay empty in the image (apart from the agent's own
// directory), so nothing from the host may land in them.
func volatileDirs() []string {
	return []string{"/dev", "/proc", "/run", "/scratch", "/sys", "/tmp", "/var/tmp", path.Dir(AgentPath)}
}

// emptyDirs are the directories every image has, with their modes.
func emptyDirs() []struct {
	path string
	mode fs.FileMode
} {
	return []struct {
		path string
		mode fs.FileMode
	}{
		{"/dev", 0o755}, {"/proc", 0o555}, {"/root", 0o700}, {"/run", 0o755},
		{"/scratch", 0o755}, {"/sys", 0o555},
		{"/tmp", 0o777 | fs.ModeSticky}, {"/var/tmp", 0o777 | fs.ModeSticky},
	}
}

// generatedFiles are the files of /etc every image has.
func generatedFiles() []struct{ path, data string } {
	return []struct{ path, data string }{
		{"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"},
		{"/etc/group", "root:x:0:\nnogroup:x:65534:\n"},
		{"/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
	}
}

// planner reads the host and lays out an image tree. Host files keep their
// host paths in the image, and every symlink met on the way to them
// (directory links such as /lib -> usr/lib as well as library version
// links) is kept as a symlink, so paths inside the image match the host.
type planner struct {
	opts BuildOptions
	tree *tree
	// conf is the loader configuration's directories; confUsed marks
	// those a library was found in.
	conf     []string
	confUsed map[string]bool
	// arch is the agent's ELF header: every program must match it.
	arch *elfInfo
	// objects are the ELF files analysed, by host path; queue holds those
	// whose dependencies are still to be resolved.
	objects map[string]*object
	queue   []*object
	elfs    map[string]*elfInfo // readELF cache by canonical host path
	interp  string
	// toolOrder, toolHost and toolPaths: the tools in option order, their
	// host paths and their paths inside the image.
	toolOrder []string
	toolHost  map[string]string
	toolPaths map[string]string
	// toolLookup holds each tool's host path before links are resolved:
	// what runs it by its own name (redis-server is a link to
	// redis-check-rdb, which tells its part by the name it is run as).
	toolLookup map[string]string
	// times are the host modification times of the data files copied
	// for applications, by path in the image, kept in the written image
	// (see keepTimes).
	times map[string]time.Time
}

// object is one ELF file of the image whose dependencies are resolved.
type object struct {
	path   string // canonical host path, also its path in the image
	origin string // the directory $ORIGIN stands for
	info   *elfInfo
	chain  string // who loads it, for messages: "/usr/bin/fio -> librbd.so.1"
}

func newPlanner(opts BuildOptions) *planner {
	return &planner{
		opts:       opts,
		tree:       newTree(),
		confUsed:   map[string]bool{},
		objects:    map[string]*object{},
		elfs:       map[string]*elfInfo{},
		toolHost:   map[string]string{},
		toolPaths:  map[string]string{},
		times:      map[string]time.Time{},
		toolLookup: map[string]string{},
	}
}

// plan lays out the whole image in p.tree.
func (p *planner) plan(ctx context.Context) error {
	conf, err := parseLdSoConf(os.DirFS(hostRoot), ldSoConf)
	if err != nil {
		return fmt.Errorf("read the dynamic loader configuration: %w", err)
	}
	p.conf = conf
	logf(p.opts.Log, "image: reading the agent, %s and busybox from the host", strings.Join(p.opts.Tools, ", "))
	if err := p.addAgent(); err != nil {
		return err
	}
	bbInfo, err := p.staticELF("busybox", p.opts.Busybox,
		"install a statically linked busybox (such as the busybox-static package) or name one in the options")
	if err != nil {
		return err
	}
	if !p.arch.compatible(bbInfo) {
		return fmt.Errorf("busybox %s is %s but the agent is %s", p.opts.Busybox, bbInfo.arch(), p.arch.arch())
	}
	for _, t := range p.opts.Tools {
		if err := p.addTool(t); err != nil {
			return err
		}
	}
	for _, a := range p.opts.Apps {
		if err := p.addApp(a); err != nil {
			return err
		}
	}
	if err := p.resolveLibraries(ctx); err != nil {
		return err
	}
	if err := p.addBusybox(ctx); err != nil {
		return err
	}
	for _, d := range emptyDirs() {
		dir, err := p.ensureDir(d.path)
		if err != nil {
			return err
		}
		if err := p.tree.setDirMode(dir, d.mode); err != nil {
			return err
		}
	}
	for _, g := range generatedFiles() {
		if err := p.addData(g.path, []byte(g.data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// staticELF reads the ELF file at host path file, which must be statically
// linked; what names the file in messages and hint says what to do.
func (p *planner) staticELF(what, file, hint string) (*elfInfo, error) {
	info, err := readELF(file)
	if errors.Is(err, errNotELF) {
		return nil, fmt.Errorf("%s %s is not an ELF executable", what, file)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !info.loadable() {
		return nil, fmt.Errorf("%s %s is an ELF %s, not an executable", what, file, info.typ)
	}
	if !info.static() {
		return nil, fmt.Errorf("%s %s is dynamically linked (interpreter %q, needs %s); %s",
			what, file, info.interp, strings.Join(info.needed, ", "), hint)
	}
	return info, nil
}

// addAgent puts the agent at AgentPath.
func (p *planner) addAgent() error {
	info, err := p.staticELF("agent", p.opts.Agent, "build it with CGO_ENABLED=0")
	if err != nil {
		return err
	}
	p.arch = info
	return p.addCopy(AgentPath, p.opts.Agent, 0o755)
}

// addTool finds one tool on the host and places it: at its host path when
// that is a standard command directory; kept at its host path and linked
// from /usr/local/bin when it is elsewhere; copied to /usr/local/bin when
// it lives in a directory the image keeps empty (such as /tmp).
func (p *planner) addTool(t string) error {
	name := path.Base(t)
	host, err := p.lookupTool(t)
	if err != nil {
		return err
	}
	info, err := readELF(host)
	if errors.Is(err, errNotELF) {
		return fmt.Errorf("tool %s (%s) is not an ELF executable; scripts are not supported", name, host)
	}
	if err != nil {
		return fmt.Errorf("tool %s: %w", name, err)
	}
	if !info.loadable() {
		return fmt.Errorf("tool %s (%s) is an ELF %s, not an executable", name, host, info.typ)
	}
	if !p.arch.compatible(info) {
		return fmt.Errorf("tool %s (%s) is %s but the agent is %s", name, host, info.arch(), p.arch.arch())
	}
	canon, _, err := resolveIn(hostRoot, host, nil)
	if err != nil {
		return fmt.Errorf("tool %s: %w", name, err)
	}
	var inImage, origin string
	switch {
	case volatileRoot(canon) != "":
		if info.usesOrigin() {
			return fmt.Errorf("tool %s (%s) lives under %s, which the image keeps empty, and finds libraries relative to itself ($ORIGIN); install it elsewhere",
				name, canon, volatileRoot(canon))
		}
		bin, err := p.ensureDir("/usr/local/bin")
		if err != nil {
			return err
		}
		inImage = path.Join(bin, name)
		if err := p.addCopy(inImage, canon, 0); err != nil {
			return fmt.Errorf("tool %s: %w", name, err)
		}
		origin = bin
	default:
		if canon, err = p.mirrorFile(host); err != nil {
			return fmt.Errorf("tool %s: %w", name, err)
		}
		inImage, origin = host, path.Dir(canon)
		if !isStandardBinDir(path.Dir(host)) {
			bin, err := p.ensureDir("/usr/local/bin")
			if err != nil {
				return err
			}
			if err := p.tree.add(path.Join(bin, name), &entry{kind: symlinkEntry, target: host}); err != nil {
				return fmt.Errorf("tool %s: %w", name, err)
			}
		}
	}
	p.toolOrder = append(p.toolOrder, name)
	p.toolHost[name] = canon
	p.toolLookup[name] = host
	p.toolPaths[name] = inImage
	p.enqueue(&object{path: canon, origin: origin, info: info, chain: inImage})
	return nil
}

// lookupTool returns the host path of tool t: t itself when it is a path,
// else the first executable regular file named t in the search path.
func (p *planner) lookupTool(t string) (string, error) {
	if strings.Contains(t, "/") {
		if err := checkExecutable(t); err != nil {
			return "", fmt.Errorf("tool %s: %w", t, err)
		}
		return path.Clean(t), nil
	}
	for _, d := range strings.Split(p.opts.Path, ":") {
		if d == "" {
			continue
		}
		cand := path.Join(d, t)
		if checkExecutable(cand) == nil {
			return cand, nil
		}
	}
	return "", fmt.Errorf("tool %s: not found in %s: %w", t, p.opts.Path, fs.ErrNotExist)
}

// checkExecutable checks that file is an executable regular file.
func checkExecutable(file string) error {
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", file)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", file)
	}
	return nil
}

// isStandardBinDir reports whether dir is in DefaultPath.
func isStandardBinDir(dir string) bool {
	for _, d := range strings.Split(DefaultPath, ":") {
		if d == dir {
			return true
		}
	}
	return false
}

// volatileRoot returns the volatile directory p lies in, or "".
func volatileRoot(p string) string {
	for _, d := range volatileDirs() {
		if isUnder(p, d) {
			return d
		}
	}
	return ""
}

// enqueue adds an ELF object whose dependencies are to be resolved.
func (p *planner) enqueue(o *object) {
	if _, ok := p.objects[o.path]; ok {
		return
	}
	p.objects[o.path] = o
	p.elfs[o.path] = o.info
	p.queue = append(p.queue, o)
}

// resolveLibraries adds every program interpreter and shared library the
// queued objects load, recursively, found as the dynamic loader would.
func (p *planner) resolveLibraries(ctx context.Context) error {
	for len(p.queue) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		o := p.queue[0]
		p.queue = p.queue[1:]
		if o.info.interp != "" {
			if err := p.addInterpreter(o); err != nil {
				return err
			}
		}
		system := append(append([]string(nil), p.conf...), defaultLibDirs(o.info.class, o.info.data, o.info.machine)...)
		dirs := o.info.searchDirs(o.origin, system)
		for _, name := range o.info.needed {
			found, dir, info, err := p.findLibrary(o, name, dirs)
			if err != nil {
				return err
			}
			canon, err := p.mirrorFile(found)
			if err != nil {
				return fmt.Errorf("%s needs %s: %w", o.chain, name, err)
			}
			if containsString(p.conf, dir) {
				p.confUsed[dir] = true
			}
			p.enqueue(&object{path: canon, origin: path.Dir(found), info: info, chain: o.chain + " -> " + name})
		}
	}
	return nil
}

// addInterpreter adds the program interpreter o names.
func (p *planner) addInterpreter(o *object) error {
	canon, err := p.mirrorFile(o.info.interp)
	if err != nil {
		return fmt.Errorf("%s: program interpreter: %w", o.chain, err)
	}
	info, err := p.readELF(canon)
	if err != nil {
		return fmt.Errorf("%s: program interpreter %s: %w", o.chain, o.info.interp, err)
	}
	if !o.info.compatible(info) {
		return fmt.Errorf("%s: program interpreter %s is %s, want %s", o.chain, o.info.interp, info.arch(), o.info.arch())
	}
	if p.interp == "" {
		p.interp = o.info.interp
	}
	p.enqueue(&object{path: canon, origin: path.Dir(o.info.interp), info: info, chain: o.info.interp})
	return nil
}

// findLibrary finds the DT_NEEDED entry name of o on the host. A name with
// a slash is a path; any other name is searched in dirs, skipping files
// that are not ELF objects o can load. It returns the path found (before
// symlinks are resolved), the directory it was found in and its ELF info.
func (p *planner) findLibrary(o *object, name string, dirs []string) (found, dir string, info *elfInfo, err error) {
	if strings.Contains(name, "/") {
		if !path.IsAbs(name) {
			return "", "", nil, fmt.Errorf("%s needs %q, a relative path the image cannot provide", o.chain, name)
		}
		canon, _, err := resolveIn(hostRoot, name, nil)
		if err != nil {
			return "", "", nil, fmt.Errorf("%s needs %s: %w", o.chain, name, err)
		}
		info, err := p.readELF(canon)
		if err != nil {
			return "", "", nil, fmt.Errorf("%s needs %s: %w", o.chain, name, err)
		}
		return name, path.Dir(name), info, nil
	}
	for _, d := range dirs {
		cand := path.Join(d, name)
		canon, fi, err := resolveIn(hostRoot, cand, nil)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		info, err := p.readELF(canon)
		if err != nil || !o.info.compatible(info) {
			continue
		}
		return cand, d, info, nil
	}
	return "", "", nil, fmt.Errorf("%s needs %s: no %s library of that name in %s",
		o.chain, name, o.info.arch(), strings.Join(dirs, ":"))
}

// readELF reads an ELF file of the host through the planner's cache.
func (p *planner) readELF(canon string) (*elfInfo, error) {
	if info, ok := p.elfs[canon]; ok {
		return info, nil
	}
	info, err := readELF(canon)
	if err != nil {
		return nil, err
	}
	p.elfs[canon] = info
	return info, nil
}

// addBusybox puts busybox at /bin/busybox and a symlink to it in /bin for
// each applet it lists, except where the image already has that name.
func (p *planner) addBusybox(ctx context.Context) error {
	bin, err := p.ensureDir("/bin")
	if err != nil {
		return err
	}
	if err := p.addCopy(path.Join(bin, "busybox"), p.opts.Busybox, 0o755); err != nil {
		return fmt.Errorf("busybox: %w", err)
	}
	p.toolPaths["busybox"] = "/bin/busybox"
	out, err := p.run(ctx, versionTimeout, p.opts.Busybox, "--list")
	if err != nil {
		return fmt.Errorf("list busybox applets: %w", err)
	}
	applets := strings.Fields(string(out))
	if len(applets) == 0 {
		return fmt.Errorf("list busybox applets: %s --list printed nothing", p.opts.Busybox)
	}
	sort.Strings(applets)
	for _, a := range applets {
		if a == "." || a == ".." || strings.ContainsAny(a, "/\x00") {
			return fmt.Errorf("list busybox applets: %s --list gave the name %q", p.opts.Busybox, a)
		}
		link := path.Join(bin, a)
		if _, taken := p.tree.entries[link]; taken {
			continue
		}
		if err := p.tree.add(link, &entry{kind: symlinkEntry, target: "busybox"}); err != nil {
			return err
		}
	}
	return nil
}

// run runs a host program with a time limit and a fixed environment, and
// returns its combined output.
func (p *planner) run(ctx context.Context, limit time.Duration, prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = []string{"PATH=" + p.opts.Path, "LC_ALL=C"}
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%s)", ctx.Err(), err)
		}
		return out.Bytes(), fmt.Errorf("run %s %s: %w", prog, strings.Join(args, " "), err)
	}
	return out.Bytes(), nil
}

// libraryDirs returns the candidate Manifest.LibraryDirs: the loader
// configuration's directories that held a library, in its order, then the
// loader's built-in directories for the agent's architecture.
func (p *planner) libraryDirs() []string {
	var dirs []string
	for _, d := range p.conf {
		if p.confUsed[d] {
			dirs = append(dirs, d)
		}
	}
	return dedupe(append(dirs, defaultLibDirs(p.arch.class, p.arch.data, p.arch.machine)...))
}

// mirrorFile adds the regular host file at hostPath at the same path in the
// image, with every symlink and directory on the way, and returns its
// resolved path.
func (p *planner) mirrorFile(hostPath string) (string, error) {
	canon, fi, err := resolveIn(hostRoot, hostPath, p.record)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", canon)
	}
	if v := volatileRoot(canon); v != "" {
		return "", fmt.Errorf("%s lies under %s, which the image keeps empty", canon, v)
	}
	e, err := hashFile(canon, fi.Mode().Perm())
	if err != nil {
		return "", err
	}
	return canon, p.tree.add(canon, e)
}

// record adds a symlink or directory met while resolving a host path.
func (p *planner) record(inside string, fi fs.FileInfo, target string) error {
	if v := volatileRoot(inside); v != "" && inside != v {
		return fmt.Errorf("%s lies under %s, which the image keeps empty", inside, v)
	}
	switch {
	case target != "":
		return p.tree.add(inside, &entry{kind: symlinkEntry, target: target})
	case fi.IsDir():
		return p.tree.add(inside, &entry{kind: dirEntry, mode: 0o755})
	}
	return nil
}

// ensureDir makes sure the image has directory dir and returns its
// resolved path. Elements the host has are laid out as on the host
// (a host symlink stays a symlink); the others become plain directories.
func (p *planner) ensureDir(dir string) (string, error) {
	dir = path.Clean(dir)
	if dir == "/" {
		return dir, nil
	}
	canon, fi, err := resolveIn(hostRoot, dir, p.record)
	switch {
	case err == nil && fi.IsDir():
		return canon, nil
	case err == nil:
		return "", fmt.Errorf("image directory %s: the host's %s is not a directory", dir, canon)
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("image directory %s: %w", dir, err)
	}
	parent, err := p.ensureDir(path.Dir(dir))
	if err != nil {
		return "", err
	}
	canon = path.Join(parent, path.Base(dir))
	if err := p.tree.add(canon, &entry{kind: dirEntry, mode: 0o755}); err != nil {
		return "", err
	}
	return canon, nil
}

// addCopy puts a copy of the host file src at path dst of the image, with
// the given mode (0 keeps the host file's permission bits).
func (p *planner) addCopy(dst, src string, mode fs.FileMode) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	if mode == 0 {
		mode = st.Mode().Perm()
	}
	dir, err := p.ensureDir(path.Dir(dst))
	if err != nil {
		return err
	}
	e, err := hashFile(src, mode)
	if err != nil {
		return err
	}
	return p.tree.add(path.Join(dir, path.Base(dst)), e)
}

// addData puts a generated file at path dst of the image.
func (p *planner) addData(dst string, data []byte, mode fs.FileMode) error {
	dir, err := p.ensureDir(path.Dir(dst))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	return p.tree.add(path.Join(dir, path.Base(dst)), &entry{
		kind: fileEntry, mode: mode, data: data, size: int64(len(data)), digest: hex.EncodeToString(sum[:]),
	})
}

// hashFile makes the entry of a host file: its size and SHA-256.
func hashFile(src string, mode fs.FileMode) (*entry, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", src, err)
	}
	return &entry{kind: fileEntry, mode: mode, source: src, size: n, digest: hex.EncodeToString(h.Sum(nil))}, nil
}

func containsString(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// addApp adds the application program a when the host has it: the
// program as a tool (its libraries resolved with the others) and, for a
// Python interpreter (pythonX.Y), its standard library (addPythonLib). A
// program the host lacks is left out and logged: the image is still
// whole, and the workloads that need it say it is missing.
func (p *planner) addApp(a string) error {
	if _, err := p.lookupTool(a); errors.Is(err, fs.ErrNotExist) {
		logf(p.opts.Log, "image: %s is not installed here; the workloads that need it will be skipped (isobench setup installs it)", a)
		return nil
	}
	if err := p.addTool(a); err != nil {
		return err
	}
	base := path.Base(p.toolHost[path.Base(a)])
	if pythonName.MatchString(base) {
		return p.addPythonLib(base)
	}
	return nil
}

// pythonName matches the file name of a CPython interpreter.
var pythonName = regexp.MustCompile(`^python3\.[0-9]+$`)

// pythonLibSkip are the parts of a Python standard library the image
// leaves out, by name at any depth: test suites, the GUI (Tk, IDLE,
// turtle), 2to3, the bundled pip wheels, the documentation topics, the
// static library and build files (config-*), and the directories of
// third-party packages.
var pythonLibSkip = map[string]bool{
	"test": true, "tests": true, "idle_test": true, "idlelib": true, "tkinter": true,
	"turtledemo": true, "turtle.py": true, "lib2to3": true, "ensurepip": true,
	"pydoc_data": true, "dist-packages": true, "site-packages": true,
}

// pythonExtSkip are the extension modules (lib-dynload) left out, by the
// module name before the first dot: Python's own test modules, the Tk,
// curses and readline bindings (terminal and GUI), and old databases
// and services.
var pythonExtSkip = map[string]bool{
	"_tkinter": true, "_testbuffer": true, "_testcapi": true, "_testclinic": true,
	"_testimportmultiple": true, "_testinternalcapi": true, "_testmultiphase": true,
	"_ctypes_test": true, "_xxtestfuzz": true, "xxlimited": true, "xxlimited_35": true,
	"_xxsubinterpreters": true, "readline": true, "_curses": true, "_curses_panel": true,
	"nis": true, "_dbm": true, "_gdbm": true, "ossaudiodev": true,
}

// addPythonLib adds the standard library of the interpreter name
// (pythonX.Y) from the host's /usr/lib/pythonX.Y, less pythonLibSkip and
// the optimized bytecode (.opt-N.pyc); the extension modules it keeps
// are ELF objects whose libraries are resolved like a tool's. Files keep
// their host modification times in the written image, so that the
// bytecode caches (__pycache__) stay valid: CPython checks a cache
// against its source's time and size, and would otherwise compile every
// module it imports on each start (it cannot write the cache back into
// the read-only image).
func (p *planner) addPythonLib(name string) error {
	root := path.Join("/usr/lib", name)
	if _, err := os.Stat(root); err != nil {
		return fmt.Errorf("python %s: its standard library: %w", name, err)
	}
	return fs.WalkDir(os.DirFS(hostRoot), root[1:], func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("python %s: %w", name, err)
		}
		hostPath := "/" + rel
		base := d.Name()
		if hostPath != root && (pythonLibSkip[base] || strings.HasPrefix(base, "config-")) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			_, err := p.ensureDir(hostPath)
			return err
		case strings.HasSuffix(base, ".pyc") && strings.Contains(base, ".opt-"):
			return nil
		case path.Base(path.Dir(hostPath)) == "lib-dynload" && pythonExtSkip[strings.SplitN(base, ".", 2)[0]]:
			return nil
		}
		canon, fi, err := resolveIn(hostRoot, hostPath, nil)
		if err != nil || !fi.Mode().IsRegular() {
			// A dangling link or a special file: nothing CPython needs.
			logf(p.opts.Log, "image: python %s: leaving out %s (not a regular file)", name, hostPath)
			return nil
		}
		if canon, err = p.mirrorFile(hostPath); err != nil {
			return fmt.Errorf("python %s: %w", name, err)
		}
		p.times[canon] = fi.ModTime()
		if strings.HasSuffix(base, ".so") {
			info, err := p.readELF(canon)
			if err != nil {
				return fmt.Errorf("python %s: extension module %s: %w", name, hostPath, err)
			}
			if !p.arch.compatible(info) {
				return fmt.Errorf("python %s: extension module %s is %s but the agent is %s", name, hostPath, info.arch(), p.arch.arch())
			}
			p.enqueue(&object{path: canon, origin: path.Dir(canon), info: info, chain: hostPath})
		}
		return nil
	})
}
