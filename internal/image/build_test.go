package image_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/testutil"
)

// logWriter sends build progress lines to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// requireHostInputs skips the test unless this machine has what a default
// image is built from, and returns the host paths of sysbench and fio.
func requireHostInputs(t *testing.T) (sysbench, fio string) {
	t.Helper()
	sysbench = testutil.RequireBinary(t, "sysbench")
	fio = testutil.RequireBinary(t, "fio")
	f, err := elf.Open(image.DefaultBusybox)
	if err != nil {
		t.Skipf("no busybox ELF at %s (Debian package busybox-static): %v", image.DefaultBusybox, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Skipf("%s is dynamically linked; install a static busybox (busybox-static)", image.DefaultBusybox)
		}
	}
	return sysbench, fio
}

func buildOptions(t *testing.T, cacheDir string) image.BuildOptions {
	return image.BuildOptions{CacheDir: cacheDir, Agent: testutil.Agent(t), Log: logWriter{t}}
}

func sha256File(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func manifestFile(img *image.Image, p string) (image.File, bool) {
	for _, f := range img.Manifest.Files {
		if f.Path == p {
			return f, true
		}
	}
	return image.File{}, false
}

// hostOutput runs a host command and returns its first output line.
func hostOutput(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}

// chrootRun runs argv inside rootfs with chroot(8) and returns its output.
func chrootRun(t *testing.T, rootfs string, argv ...string) string {
	t.Helper()
	chroot := testutil.RequireBinary(t, "chroot")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chroot, append([]string{rootfs}, argv...)...)
	cmd.Env = []string{"PATH=" + image.DefaultPath, "HOME=/root"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chroot %s %s: %v\n%s", rootfs, strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// lddPaths returns the library paths ldd(1) reports for prog: an
// independent witness of what the dynamic loader loads on this host.
func lddPaths(t *testing.T, prog string) []string {
	t.Helper()
	ldd, err := exec.LookPath("ldd")
	if err != nil {
		t.Skip("ldd not installed; cannot cross-check the libraries")
	}
	out, err := exec.Command(ldd, prog).Output()
	if err != nil {
		t.Fatalf("ldd %s: %v", prog, err)
	}
	var paths []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			paths = append(paths, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			paths = append(paths, f[0]) // the interpreter
		}
	}
	if len(paths) == 0 {
		t.Fatalf("ldd %s listed no library:\n%s", prog, out)
	}
	return paths
}

// resolvesInside follows symlinks inside rootfs by hand (absolute links
// stay in rootfs) and reports whether p resolves to a regular file there.
func resolvesInside(rootfs, p string) error {
	cur := "/"
	rest := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		fi, err := os.Lstat(filepath.Join(rootfs, next))
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if hops++; hops > 40 {
				return errors.New("too many links")
			}
			target, err := os.Readlink(filepath.Join(rootfs, next))
			if err != nil {
				return err
			}
			if strings.HasPrefix(target, "/") {
				cur = "/"
			}
			rest = append(strings.Split(target, "/"), rest...)
			continue
		}
		cur = next
		if len(rest) == 0 && !fi.Mode().IsRegular() {
			return errors.New(next + " is not a regular file")
		}
	}
	return nil
}

func TestBuild(t *testing.T) {
	sysbench, fio := requireHostInputs(t)
	cache := t.TempDir()
	ctx := context.Background()
	opts := buildOptions(t, cache)

	img, err := image.Build(ctx, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if img.Reused {
		t.Error("first build of a fresh cache says Reused")
	}
	if len(img.ID) != 64 {
		t.Errorf("ID %q is not a hex SHA-256", img.ID)
	}
	if want := filepath.Join(cache, "images", img.ID); img.Dir != want {
		t.Errorf("Dir = %s, want %s", img.Dir, want)
	}
	if err := image.Verify(img); err != nil {
		t.Fatalf("Verify of a fresh image: %v", err)
	}
	rootfs := img.Rootfs

	t.Run("manifest", func(t *testing.T) {
		m := img.Manifest
		if m.Source != "host" {
			t.Errorf("Source = %q, want host", m.Source)
		}
		tools := []struct{ name, want string }{
			{"sysbench", hostOutput(t, sysbench, "--version")},
			{"fio", hostOutput(t, fio, "--version")},
			{"busybox", hostOutput(t, image.DefaultBusybox, "--help")},
			{"agent", "isobench-agent protocol " + agent.Version},
		}
		for _, tc := range tools {
			if got := m.Tools[tc.name]; got != tc.want {
				t.Errorf("Tools[%s] = %q, want %q", tc.name, got, tc.want)
			}
		}
		if !strings.HasPrefix(m.Tools["busybox"], "BusyBox v") {
			t.Errorf("busybox banner %q does not start with BusyBox v", m.Tools["busybox"])
		}
		paths := map[string]string{"sysbench": sysbench, "fio": fio, "busybox": "/bin/busybox"}
		for name, want := range paths {
			if got := m.ToolPaths[name]; got != want {
				t.Errorf("ToolPaths[%s] = %q, want %q", name, got, want)
			}
		}
		ef, err := elf.Open(sysbench)
		if err != nil {
			t.Fatal(err)
		}
		defer ef.Close()
		var interp string
		for _, p := range ef.Progs {
			if p.Type == elf.PT_INTERP {
				b := make([]byte, p.Filesz)
				if _, err := p.ReadAt(b, 0); err != nil {
					t.Fatal(err)
				}
				interp = strings.TrimRight(string(b), "\x00")
			}
		}
		if m.Interpreter != interp {
			t.Errorf("Interpreter = %q, want sysbench's PT_INTERP %q", m.Interpreter, interp)
		}
		if len(m.LibraryDirs) == 0 {
			t.Error("no LibraryDirs")
		}
		copies := []struct{ inside, host string }{
			{image.AgentPath, opts.Agent},
			{sysbench, sysbench},
			{fio, fio},
		}
		for _, c := range copies {
			canon, err := filepath.EvalSymlinks(c.host)
			if err != nil {
				t.Fatal(err)
			}
			f, ok := manifestFile(img, c.inside)
			if !ok {
				// The tool's directory may be a symlink on the host
				// (/bin -> usr/bin); the manifest names resolved paths.
				f, ok = manifestFile(img, canon)
			}
			if !ok {
				t.Errorf("manifest lists no file %s", c.inside)
				continue
			}
			if want := sha256File(t, c.host); f.SHA256 != want {
				t.Errorf("%s: manifest sha256 %s, host file %s", c.inside, f.SHA256, want)
			}
			if got := sha256File(t, filepath.Join(rootfs, f.Path)); got != f.SHA256 {
				t.Errorf("%s: image file sha256 %s, manifest %s", f.Path, got, f.SHA256)
			}
		}
	})

	t.Run("libraries match ldd", func(t *testing.T) {
		for _, prog := range []string{sysbench, fio} {
			for _, lib := range lddPaths(t, prog) {
				if err := resolvesInside(rootfs, lib); err != nil {
					t.Errorf("%s loads %s on the host, not resolvable in the image: %v", prog, lib, err)
					continue
				}
				hostFI, err := os.Lstat(lib)
				if err != nil {
					t.Fatal(err)
				}
				if hostFI.Mode()&fs.ModeSymlink == 0 {
					continue
				}
				hostTarget, _ := os.Readlink(lib)
				// The image keeps the host's link, with the same target,
				// wherever the resolved directory puts it.
				dir, err := filepath.EvalSymlinks(filepath.Dir(lib))
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.Readlink(filepath.Join(rootfs, dir, filepath.Base(lib)))
				if err != nil {
					t.Errorf("%s is a symlink on the host, not in the image: %v", lib, err)
				} else if got != hostTarget {
					t.Errorf("%s -> %s in the image, %s on the host", lib, got, hostTarget)
				}
			}
		}
	})

	t.Run("layout", func(t *testing.T) {
		dirs := []struct {
			path string
			mode fs.FileMode
		}{
			{"/tmp", 0o777 | fs.ModeSticky},
			{"/var/tmp", 0o777 | fs.ModeSticky},
			{"/proc", 0o555}, {"/sys", 0o555}, {"/dev", 0o755}, {"/run", 0o755}, {"/scratch", 0o755},
		}
		for _, d := range dirs {
			p := filepath.Join(rootfs, d.path)
			fi, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %v", d.path, err)
				continue
			}
			if got := fi.Mode() & (fs.ModePerm | fs.ModeSticky | fs.ModeDir); got != d.mode|fs.ModeDir {
				t.Errorf("%s mode %v, want %v", d.path, got, d.mode|fs.ModeDir)
			}
			ents, _ := os.ReadDir(p)
			if len(ents) != 0 {
				t.Errorf("%s is not empty: %d entries", d.path, len(ents))
			}
		}
		files := []struct{ path, want string }{
			{"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"},
			{"/etc/group", "root:x:0:\n"},
			{"/etc/hosts", "127.0.0.1\tlocalhost\n"},
		}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(rootfs, f.path))
			if err != nil {
				t.Errorf("%s: %v", f.path, err)
			} else if !bytes.Contains(b, []byte(f.want)) {
				t.Errorf("%s = %q, want a line %q", f.path, b, f.want)
			}
		}
		if err := resolvesInside(rootfs, "/bin/sh"); err != nil {
			t.Errorf("/bin/sh: %v", err)
		}
		bin, err := filepath.EvalSymlinks("/bin")
		if err != nil {
			t.Fatal(err)
		}
		applets, err := exec.Command(image.DefaultBusybox, "--list").Output()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range strings.Fields(string(applets)) {
			target, err := os.Readlink(filepath.Join(rootfs, bin, a))
			if err == nil && target == "busybox" {
				n++
			}
		}
		if n < 100 {
			t.Errorf("only %d busybox applet links in /bin", n)
		}
		for _, tool := range []string{sysbench, fio} {
			fi, err := os.Lstat(filepath.Join(rootfs, tool))
			if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				if target, _ := os.Readlink(filepath.Join(rootfs, tool)); target == "busybox" {
					t.Errorf("%s was replaced by a busybox applet", tool)
				}
			}
		}
	})

	t.Run("chroot", func(t *testing.T) {
		testutil.RequireRoot(t)
		if got, want := strings.TrimSpace(chrootRun(t, rootfs, sysbench, "--version")), hostOutput(t, sysbench, "--version"); got != want {
			t.Errorf("sysbench --version in the image = %q, on the host %q", got, want)
		}
		out := chrootRun(t, rootfs, "/bin/sh", "-c", "sysbench cpu --cpu-max-prime=2000 --time=1 run")
		if !strings.Contains(out, "events per second:") {
			t.Errorf("sysbench cpu in the image printed no events per second:\n%s", out)
		}
		if got, want := strings.TrimSpace(chrootRun(t, rootfs, fio, "--version")), hostOutput(t, fio, "--version"); got != want {
			t.Errorf("fio --version in the image = %q, on the host %q", got, want)
		}
		if got := strings.TrimSpace(chrootRun(t, rootfs, image.AgentPath, "version")); got != img.Manifest.Tools["agent"] {
			t.Errorf("agent version in the image = %q, want %q", got, img.Manifest.Tools["agent"])
		}
	})

	manifestPath := filepath.Join(img.Dir, "manifest.json")
	st1, err := os.Stat(manifestPath)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("reuse", func(t *testing.T) {
		again, err := image.Build(ctx, opts)
		if err != nil {
			t.Fatalf("second Build: %v", err)
		}
		if again.ID != img.ID || !again.Reused {
			t.Errorf("second Build: ID %s reused %v, want ID %s reused", again.ID, again.Reused, img.ID)
		}
		if !again.Built.Equal(img.Built) {
			t.Errorf("second Build: Built %v, first %v", again.Built, img.Built)
		}
		st2, err := os.Stat(manifestPath)
		if err != nil {
			t.Fatal(err)
		}
		if !st2.ModTime().Equal(st1.ModTime()) {
			t.Error("second Build rewrote the manifest")
		}
	})

	t.Run("lookup", func(t *testing.T) {
		for _, id := range []string{img.ID, img.ID[:10]} {
			got, err := image.Lookup(cache, id)
			if err != nil {
				t.Fatalf("Lookup(%s): %v", id, err)
			}
			if got.ID != img.ID || got.Rootfs != img.Rootfs || got.Manifest.Interpreter != img.Manifest.Interpreter ||
				len(got.Manifest.Files) != len(img.Manifest.Files) {
				t.Errorf("Lookup(%s) = %+v, want the built image", id, got)
			}
		}
		opened, err := image.Open(img.Dir)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if opened.ID != img.ID || opened.Manifest.Tools["sysbench"] != img.Manifest.Tools["sysbench"] {
			t.Errorf("Open = %+v", opened)
		}
	})

	t.Run("force", func(t *testing.T) {
		o := opts
		o.Force = true
		forced, err := image.Build(ctx, o)
		if err != nil {
			t.Fatalf("forced Build: %v", err)
		}
		if forced.ID != img.ID || forced.Reused {
			t.Errorf("forced Build: ID %s reused %v, want ID %s rebuilt", forced.ID, forced.Reused, img.ID)
		}
		if !forced.Built.After(img.Built) {
			t.Errorf("forced Build: Built %v not after %v", forced.Built, img.Built)
		}
		st3, err := os.Stat(manifestPath)
		if err != nil {
			t.Fatal(err)
		}
		if st3.ModTime().Equal(st1.ModTime()) && os.SameFile(st3, st1) {
			t.Error("forced Build left the old manifest in place")
		}
		if err := image.Verify(forced); err != nil {
			t.Errorf("Verify after a forced build: %v", err)
		}
	})

	var changed *image.Image
	t.Run("changed input", func(t *testing.T) {
		// A sysbench with one byte more, early in a private search path.
		bin := t.TempDir()
		b, err := os.ReadFile(sysbench)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, "sysbench"), append(b, 0), 0o755); err != nil {
			t.Fatal(err)
		}
		o := opts
		o.Path = bin + ":" + image.DefaultPath
		changed, err = image.Build(ctx, o)
		if err != nil {
			t.Fatalf("Build with a changed sysbench: %v", err)
		}
		if changed.ID == img.ID {
			t.Fatal("changing sysbench kept the image ID")
		}
		if changed.Reused {
			t.Error("new image says Reused")
		}
		if got := changed.Manifest.ToolPaths["sysbench"]; got != "/usr/local/bin/sysbench" {
			t.Errorf("a tool from a temporary directory is at %q, want /usr/local/bin/sysbench", got)
		}
		if ents, err := os.ReadDir(filepath.Join(changed.Rootfs, "tmp")); err != nil || len(ents) != 0 {
			t.Errorf("the image's /tmp is not empty: %v %v", ents, err)
		}
		if err := image.Verify(changed); err != nil {
			t.Errorf("Verify: %v", err)
		}
		if os.Geteuid() == 0 {
			out := chrootRun(t, changed.Rootfs, "/bin/sh", "-c", "sysbench --version")
			if !strings.HasPrefix(out, "sysbench ") {
				t.Errorf("the copied sysbench in the image printed %q", out)
			}
		}
		again, err := image.Build(ctx, o)
		if err != nil || again.ID != changed.ID || !again.Reused {
			t.Errorf("rebuilding the changed input: %v, reused %v", err, again != nil && again.Reused)
		}
	})

	t.Run("list and prune", func(t *testing.T) {
		if changed == nil {
			t.Skip("no second image")
		}
		all, err := image.List(cache)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].ID != changed.ID {
			t.Fatalf("List = %d images (first %v), want 2, newest %s", len(all), all, changed.ID)
		}
		removed, err := image.Prune(cache, img.ID)
		if err != nil {
			t.Fatalf("Prune: %v", err)
		}
		if len(removed) != 1 || removed[0] != changed.ID {
			t.Errorf("Prune removed %v, want [%s]", removed, changed.ID)
		}
		if _, err := image.Lookup(cache, changed.ID); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Lookup of a pruned image: %v, want not-exist", err)
		}
		if _, err := image.Lookup(cache, img.ID); err != nil {
			t.Errorf("Lookup of the kept image: %v", err)
		}
	})

	t.Run("verify finds damage", func(t *testing.T) {
		testVerifyDamage(t, img)
	})
}

// testVerifyDamage breaks img in one way at a time, checks that Verify
// says what is wrong, and repairs it.
func testVerifyDamage(t *testing.T, img *image.Image) {
	rootfs := img.Rootfs
	sysbench, _ := requireHostInputs(t)
	ef, err := elf.Open(sysbench)
	if err != nil {
		t.Fatal(err)
	}
	needed, err := ef.DynString(elf.DT_NEEDED)
	ef.Close()
	if err != nil || len(needed) == 0 {
		t.Fatalf("sysbench DT_NEEDED: %v %v", needed, err)
	}
	// The library file that answers sysbench's first DT_NEEDED entry.
	lib := ""
	for _, f := range img.Manifest.Files {
		if b := path.Base(f.Path); b == needed[0] || strings.HasPrefix(b, needed[0]+".") {
			lib = f.Path
		}
	}
	if lib == "" {
		t.Fatalf("no file for %s in the manifest", needed[0])
	}
	interp, ok := "", false
	for _, f := range img.Manifest.Files {
		if path.Base(f.Path) == path.Base(img.Manifest.Interpreter) {
			interp, ok = f.Path, true
		}
	}
	if !ok {
		t.Fatalf("no file for the interpreter %s in the manifest", img.Manifest.Interpreter)
	}
	moveAside := func(p string) func() error {
		return func() error { return os.Rename(filepath.Join(rootfs, p), filepath.Join(img.Dir, "aside")) }
	}
	moveBack := func(p string) func() error {
		return func() error { return os.Rename(filepath.Join(img.Dir, "aside"), filepath.Join(rootfs, p)) }
	}
	agentFile := filepath.Join(rootfs, image.AgentPath)
	hosts := filepath.Join(rootfs, "etc", "hosts")
	var hostsData []byte
	cases := []struct {
		name         string
		damage, undo func() error
		want         []string
	}{
		{
			name:   "library removed",
			damage: moveAside(lib), undo: moveBack(lib),
			want: []string{sysbench + " needs " + needed[0] + ": not found in", "file " + lib},
		},
		{
			name:   "interpreter removed",
			damage: moveAside(interp), undo: moveBack(interp),
			want: []string{"program interpreter " + img.Manifest.Interpreter},
		},
		{
			name:   "agent not executable",
			damage: func() error { return os.Chmod(agentFile, 0o644) },
			undo:   func() error { return os.Chmod(agentFile, 0o755) },
			want:   []string{"agent " + image.AgentPath + " is not executable"},
		},
		{
			name: "agent replaced by a dynamic program",
			damage: func() error {
				if err := os.Rename(agentFile, agentFile+".real"); err != nil {
					return err
				}
				b, err := os.ReadFile(filepath.Join(rootfs, sysbench))
				if err != nil {
					return err
				}
				return os.WriteFile(agentFile, b, 0o755)
			},
			undo: func() error { return os.Rename(agentFile+".real", agentFile) },
			want: []string{"agent " + image.AgentPath + " is dynamically linked", "file " + image.AgentPath + " has sha256"},
		},
		{
			name: "file changed",
			damage: func() error {
				hostsData, err = os.ReadFile(hosts)
				if err != nil {
					return err
				}
				return os.WriteFile(hosts, append(append([]byte(nil), hostsData...), '#'), 0o644)
			},
			undo: func() error { return os.WriteFile(hosts, hostsData, 0o644) },
			want: []string{"file /etc/hosts has sha256"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.damage(); err != nil {
				t.Fatal(err)
			}
			verr := image.Verify(img)
			if err := tc.undo(); err != nil {
				t.Fatalf("repair: %v", err)
			}
			var ve *image.VerifyError
			if !errors.As(verr, &ve) {
				t.Fatalf("Verify = %v, want a *VerifyError", verr)
			}
			for _, w := range tc.want {
				if !strings.Contains(verr.Error(), w) {
					t.Errorf("Verify error lacks %q:\n%v", w, verr)
				}
			}
			if err := image.Verify(img); err != nil {
				t.Errorf("Verify after the repair: %v", err)
			}
		})
	}
}

func TestBuildConcurrent(t *testing.T) {
	requireHostInputs(t)
	opts := buildOptions(t, t.TempDir())
	var wg sync.WaitGroup
	imgs := make([]*image.Image, 2)
	errs := make([]error, 2)
	for i := range imgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			imgs[i], errs[i] = image.Build(context.Background(), opts)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Build %d: %v", i, err)
		}
	}
	if imgs[0].ID != imgs[1].ID {
		t.Errorf("concurrent builds gave IDs %s and %s", imgs[0].ID, imgs[1].ID)
	}
	if imgs[0].Reused == imgs[1].Reused {
		t.Errorf("concurrent builds: reused %v and %v, want exactly one build", imgs[0].Reused, imgs[1].Reused)
	}
	ents, err := os.ReadDir(filepath.Join(opts.CacheDir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 { // the image and the lock file
		t.Errorf("images directory holds %v, want the image and the lock", names)
	}
}

func TestBuildErrors(t *testing.T) {
	sysbench, fio := requireHostInputs(t)
	agentBin := testutil.Agent(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	if err := os.WriteFile(text, []byte("not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	scripts := filepath.Join(dir, "bin")
	if err := os.Mkdir(scripts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(scripts, "myscript"), []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		opts    image.BuildOptions
		want    string
		wantIs  error
		noCache bool
	}{
		{name: "no cache dir", opts: image.BuildOptions{Agent: agentBin}, want: "no cache directory"},
		{name: "relative cache dir", opts: image.BuildOptions{CacheDir: "cache", Agent: agentBin}, want: `cache directory "cache" is not an absolute path`},
		{name: "no agent", opts: image.BuildOptions{}, want: "no agent binary"},
		{name: "dynamic agent", opts: image.BuildOptions{Agent: sysbench}, want: "agent " + sysbench + " is dynamically linked"},
		{name: "agent not ELF", opts: image.BuildOptions{Agent: text}, want: "agent " + text + " is not an ELF executable"},
		{name: "missing agent", opts: image.BuildOptions{Agent: filepath.Join(dir, "nope")}, want: "no such file", wantIs: fs.ErrNotExist},
		{name: "dynamic busybox", opts: image.BuildOptions{Agent: agentBin, Busybox: fio}, want: "busybox " + fio + " is dynamically linked"},
		{name: "missing tool", opts: image.BuildOptions{Agent: agentBin, Tools: []string{"sysbench", "isobench-no-such-tool"}},
			want: "tool isobench-no-such-tool: not found in " + image.DefaultPath, wantIs: fs.ErrNotExist},
		{name: "relative tool path", opts: image.BuildOptions{Agent: agentBin, Tools: []string{"bin/sysbench"}}, want: "a path must be absolute"},
		{name: "same tool twice", opts: image.BuildOptions{Agent: agentBin, Tools: []string{"fio", fio}}, want: "have the same name"},
		{name: "busybox as a tool", opts: image.BuildOptions{Agent: agentBin, Tools: []string{"busybox"}}, want: "busybox comes from"},
		{name: "script tool", opts: image.BuildOptions{Agent: agentBin, Tools: []string{"myscript"}, Path: scripts},
			want: "tool myscript (" + filepath.Join(scripts, "myscript") + ") is not an ELF executable"},
		{name: "relative path dir", opts: image.BuildOptions{Agent: agentBin, Path: "bin:/usr/bin"}, want: `directory "bin" is not absolute`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			o := tc.opts
			if o.CacheDir == "" && tc.name != "no cache dir" {
				o.CacheDir = cache
			}
			img, err := image.Build(context.Background(), o)
			if err == nil {
				t.Fatalf("Build = image %s, want an error containing %q", img.ID, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build error %q lacks %q", err, tc.want)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Build error %q is not %v", err, tc.wantIs)
			}
			if _, err := os.Stat(filepath.Join(cache, "images")); err == nil {
				t.Error("a failed build left an images directory")
			}
		})
	}
}

func TestBuildCanceled(t *testing.T) {
	requireHostInputs(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts := buildOptions(t, t.TempDir())
	if _, err := image.Build(ctx, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("Build with a canceled context: %v, want context.Canceled", err)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
		err  string
	}{
		{name: "xdg", env: map[string]string{"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}, want: "/x/cache/isobench"},
		{name: "home", env: map[string]string{"HOME": "/home/u"}, want: "/home/u/.cache/isobench"},
		{name: "relative xdg ignored", env: map[string]string{"XDG_CACHE_HOME": "cache", "HOME": "/home/u"}, want: "/home/u/.cache/isobench"},
		{name: "nothing", env: map[string]string{}, err: "neither XDG_CACHE_HOME nor HOME"},
		{name: "relative home", env: map[string]string{"HOME": "u"}, err: `HOME "u" is not an absolute path`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := image.DefaultCacheDir(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("DefaultCacheDir = %q, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("DefaultCacheDir = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := image.DefaultCacheDir(nil); err == nil {
		t.Error("DefaultCacheDir(nil) gave no error")
	}
}

func TestCacheBadInput(t *testing.T) {
	cache := t.TempDir()
	images := filepath.Join(cache, "images")
	unknown := strings.Repeat("ab", 32)
	if err := os.MkdirAll(filepath.Join(images, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), 0o755); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(images, strings.Repeat("cd", 32))
	if err := os.MkdirAll(filepath.Join(corrupt, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, "manifest.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		call   func() error
		want   string
		wantIs error
	}{
		{"lookup bad id", func() error { _, err := image.Lookup(cache, "XYZ"); return err }, "lowercase hex digits", nil},
		{"lookup too long", func() error { _, err := image.Lookup(cache, unknown+"0"); return err }, "1 to 64", nil},
		{"lookup unknown", func() error { _, err := image.Lookup(cache, unknown); return err }, "look up image", fs.ErrNotExist},
		{"lookup unknown prefix", func() error { _, err := image.Lookup(cache, "ffff"); return err }, "look up image ffff", fs.ErrNotExist},
		{"lookup incomplete", func() error {
			_, err := image.Lookup(cache, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
			return err
		}, "manifest.json", fs.ErrNotExist},
		{"open corrupt", func() error { _, err := image.Open(corrupt); return err }, "decode manifest.json", nil},
		{"open missing", func() error { _, err := image.Open(filepath.Join(cache, "nope")); return err }, "open image", fs.ErrNotExist},
		{"prune short keep", func() error { _, err := image.Prune(cache, "abcd"); return err }, "not a full image ID", nil},
		{"verify nil", func() error { return image.Verify(nil) }, "no image given", nil},
		{"verify no rootfs", func() error { return image.Verify(&image.Image{ID: unknown, Rootfs: filepath.Join(cache, "nope")}) }, "no such file", fs.ErrNotExist},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
		})
	}
	all, err := image.List(cache)
	if err != nil || len(all) != 0 {
		t.Errorf("List of a cache of broken images = %v, %v; want none", all, err)
	}
	removed, err := image.Prune(cache)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if len(removed) != 2 {
		t.Errorf("Prune removed %v, want the incomplete and the corrupt image", removed)
	}
}
