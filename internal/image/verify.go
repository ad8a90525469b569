package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/isobench/isobench/internal/cachedir"
)

// maxProblems bounds the problems a VerifyError spells out.
const maxProblems = 50

// VerifyError says why an image is not self-contained. Problems holds one
// line per problem, each naming the path inside the image.
type VerifyError struct {
	ID       string
	Problems []string
	// More counts problems found beyond those listed.
	More int
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "image %s is not self-contained: %s", cachedir.ShortID(e.ID), strings.Join(e.Problems, "; "))
	if e.More > 0 {
		fmt.Fprintf(&b, "; and %d more problems", e.More)
	}
	return b.String()
}

// Verify checks that img can run on its own: the agent is at AgentPath, is
// executable and statically linked; the manifest's interpreter is there;
// every file the manifest lists still has its digest; every symlink
// resolves inside the root file system; and every ELF executable or shared
// library in it has its program interpreter and every DT_NEEDED library
// resolvable inside the image, searched as the dynamic loader would
// (DT_RPATH, DT_RUNPATH with $ORIGIN, then the manifest's LibraryDirs, or
// the loader's built-in directories when the manifest names none). It
// returns a *VerifyError listing every problem found, or another error when
// the image cannot be read at all.
func Verify(img *Image) error {
	if img == nil {
		return errors.New("verify image: no image given")
	}
	if img.Rootfs == "" {
		return fmt.Errorf("verify image %s: no rootfs directory", cachedir.ShortID(img.ID))
	}
	st, err := os.Stat(img.Rootfs)
	if err != nil {
		return fmt.Errorf("verify image %s: %w", cachedir.ShortID(img.ID), err)
	}
	if !st.IsDir() {
		return fmt.Errorf("verify image %s: rootfs %s is not a directory", cachedir.ShortID(img.ID), img.Rootfs)
	}
	v := &verifier{root: img.Rootfs, m: img.Manifest, elfs: map[string]*elfInfo{}, verr: &VerifyError{ID: img.ID}}
	v.checkAgent()
	if v.m.Interpreter != "" {
		if _, err := v.regular(v.m.Interpreter); err != nil {
			v.problem("program interpreter %s: %v", v.m.Interpreter, err)
		}
	}
	v.checkFiles()
	err = filepath.WalkDir(v.root, func(hostPath string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(v.root, hostPath)
		if err != nil {
			return err
		}
		inside := path.Clean("/" + filepath.ToSlash(rel))
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			if _, _, err := resolveIn(v.root, inside, nil); err != nil {
				target, _ := os.Readlink(hostPath)
				v.problem("symlink %s -> %s does not resolve: %v", inside, target, err)
			}
		case d.Type().IsRegular():
			v.checkELF(inside)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify image %s: walk rootfs: %w", cachedir.ShortID(img.ID), err)
	}
	if len(v.verr.Problems) > 0 {
		return v.verr
	}
	return nil
}

// verifier holds the state of one Verify call.
type verifier struct {
	root string
	m    Manifest
	elfs map[string]*elfInfo // by resolved path inside the image
	verr *VerifyError
}

func (v *verifier) problem(format string, args ...any) {
	if len(v.verr.Problems) >= maxProblems {
		v.verr.More++
		return
	}
	v.verr.Problems = append(v.verr.Problems, fmt.Sprintf(format, args...))
}

// regular resolves p inside the image and checks it is a regular file.
func (v *verifier) regular(p string) (string, error) {
	canon, fi, err := resolveIn(v.root, p, nil)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", canon)
	}
	return canon, nil
}

// readELF reads the ELF file at resolved path canon inside the image.
func (v *verifier) readELF(canon string) (*elfInfo, error) {
	if info, ok := v.elfs[canon]; ok {
		return info, nil
	}
	f, err := os.Open(filepath.Join(v.root, canon))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	info, err := parseELF(f, st.Size())
	if err != nil {
		return nil, err
	}
	v.elfs[canon] = info
	return info, nil
}

func (v *verifier) checkAgent() {
	canon, err := v.regular(AgentPath)
	if err != nil {
		v.problem("agent %s: %v", AgentPath, err)
		return
	}
	fi, err := os.Stat(filepath.Join(v.root, canon))
	if err != nil {
		v.problem("agent %s: %v", AgentPath, err)
		return
	}
	if fi.Mode().Perm()&0o111 == 0 {
		v.problem("agent %s is not executable (mode %v)", AgentPath, fi.Mode().Perm())
	}
	info, err := v.readELF(canon)
	switch {
	case err != nil:
		v.problem("agent %s: %v", AgentPath, err)
	case !info.loadable():
		v.problem("agent %s is an ELF %s, not an executable", AgentPath, info.typ)
	case !info.static():
		v.problem("agent %s is dynamically linked (interpreter %q, needs %s)", AgentPath, info.interp, strings.Join(info.needed, ", "))
	}
}

// checkFiles checks the digest of every file the manifest lists.
func (v *verifier) checkFiles() {
	for _, f := range v.m.Files {
		if f.SHA256 == "" {
			continue
		}
		canon, err := v.regular(f.Path)
		if err != nil {
			v.problem("file %s: %v", f.Path, err)
			continue
		}
		got, err := cachedir.FileDigest(filepath.Join(v.root, canon))
		if err != nil {
			v.problem("file %s: %v", f.Path, err)
			continue
		}
		if got != f.SHA256 {
			v.problem("file %s has sha256 %s, the manifest says %s", f.Path, got, f.SHA256)
		}
	}
}

// checkELF checks the dependencies of the regular file at inside, when it
// is an ELF executable or shared library.
func (v *verifier) checkELF(inside string) {
	info, err := v.readELF(inside)
	if errors.Is(err, errNotELF) {
		return
	}
	if err != nil {
		v.problem("%s: unreadable ELF file: %v", inside, err)
		return
	}
	if !info.loadable() {
		return
	}
	if info.interp != "" {
		if err := v.findObject(info, info.interp); err != nil {
			v.problem("%s: program interpreter %s: %v", inside, info.interp, err)
		}
	}
	if len(info.needed) == 0 {
		return
	}
	system := v.m.LibraryDirs
	if len(system) == 0 {
		system = defaultLibDirs(info.class, info.data, info.machine)
	}
	dirs := info.searchDirs(path.Dir(inside), system)
	for _, name := range info.needed {
		if strings.Contains(name, "/") {
			if !path.IsAbs(name) {
				v.problem("%s needs %q, a relative path", inside, name)
			} else if err := v.findObject(info, name); err != nil {
				v.problem("%s needs %s: %v", inside, name, err)
			}
			continue
		}
		found := false
		for _, d := range dirs {
			if v.findObject(info, path.Join(d, name)) == nil {
				found = true
				break
			}
		}
		if !found {
			v.problem("%s needs %s: not found in %s", inside, name, strings.Join(dirs, ":"))
		}
	}
}

// findObject checks that p resolves inside the image to an ELF file that
// an object like info can load.
func (v *verifier) findObject(info *elfInfo, p string) error {
	canon, err := v.regular(p)
	if err != nil {
		return err
	}
	dep, err := v.readELF(canon)
	if err != nil {
		return fmt.Errorf("%s: %w", canon, err)
	}
	if !info.compatible(dep) {
		return fmt.Errorf("%s is %s, want %s", canon, dep.arch(), info.arch())
	}
	return nil
}
