package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// maxSymlinks bounds the symlinks followed while resolving one path, as the
// kernel does (ELOOP).
const maxSymlinks = 40

// visitFunc is told about each path element met while resolving a path:
// its path inside the root (no symlinks in its parent), its Lstat, and the
// link target when it is a symlink.
type visitFunc func(inside string, fi fs.FileInfo, target string) error

// resolveIn resolves the absolute path p inside root as the kernel would
// after chroot(root): every symlink is followed, absolute link targets are
// taken relative to root, and ".." never climbs above root. It returns the
// resolved path inside root (clean, absolute, free of symlinks) and the
// Lstat of what it names. Root "/" resolves on the host itself.
//
// A missing element gives an error that wraps fs.ErrNotExist and names the
// element inside root.
func resolveIn(root, p string, visit visitFunc) (string, fs.FileInfo, error) {
	if !path.IsAbs(p) {
		return "", nil, fmt.Errorf("resolve %q: not an absolute path", p)
	}
	rest := splitPath(p)
	cur := "/"
	var fi fs.FileInfo
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case ".":
			continue
		case "..":
			cur = path.Dir(cur)
			fi = nil
			continue
		}
		next := path.Join(cur, c)
		st, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			perr := &fs.PathError{Op: "lstat", Path: next, Err: unwrapPathErr(err)}
			if next == path.Clean(p) {
				return next, nil, perr
			}
			return next, nil, fmt.Errorf("resolve %s: %w", p, perr)
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			links++
			if links > maxSymlinks {
				return next, nil, fmt.Errorf("resolve %s: %w", p, &fs.PathError{Op: "resolve", Path: next, Err: syscall.ELOOP})
			}
			target, err := os.Readlink(filepath.Join(root, next))
			if err != nil {
				return next, nil, fmt.Errorf("resolve %s: %w", p, err)
			}
			if target == "" {
				return next, nil, fmt.Errorf("resolve %s: symlink %s has an empty target", p, next)
			}
			if visit != nil {
				if err := visit(next, st, target); err != nil {
					return next, nil, err
				}
			}
			if path.IsAbs(target) {
				cur = "/"
			}
			rest = append(splitPath(target), rest...)
			fi = nil
			continue
		}
		if !st.IsDir() && hasElements(rest) {
			return next, nil, fmt.Errorf("resolve %s: %w", p, &fs.PathError{Op: "resolve", Path: next, Err: syscall.ENOTDIR})
		}
		if visit != nil {
			if err := visit(next, st, ""); err != nil {
				return next, nil, err
			}
		}
		cur = next
		fi = st
	}
	if fi == nil {
		st, err := os.Lstat(filepath.Join(root, cur))
		if err != nil {
			return cur, nil, fmt.Errorf("resolve %s: %w", p, err)
		}
		fi = st
	}
	return cur, fi, nil
}

// splitPath splits a slash-separated path into its non-empty elements.
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// hasElements reports whether rest names anything beyond "." elements.
func hasElements(rest []string) bool {
	for _, c := range rest {
		if c != "." {
			return true
		}
	}
	return false
}

// unwrapPathErr strips the *fs.PathError that os.Lstat adds, whose path is
// the host path, so the caller can name the path inside the root instead.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// isUnder reports whether the clean absolute path p is dir or lies below it.
func isUnder(p, dir string) bool {
	if dir == "/" {
		return true
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}
