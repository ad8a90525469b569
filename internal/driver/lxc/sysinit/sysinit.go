package sysinit

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/image"
)

// InitPath is the init every system container runs.
const InitPath = "/sbin/init"

// BusyboxPath is where the workload image keeps its static busybox, which
// InitPath links to.
const BusyboxPath = "/bin/busybox"

// InittabPath is busybox init's configuration.
const InittabPath = "/etc/inittab"

// Inittab is what busybox init runs. The agent's Ready line on the console
// says the system has booted; its "once" action is not restarted, so an
// agent that cannot run leaves busybox init's reason on the console.
// Shutdown (SIGPWR, as LXC and Incus send) flushes the filesystems before
// busybox init kills every process and halts.
const Inittab = `# isobench system container: busybox init is PID 1, the isobench agent is
# the system's one service, started once when the system has booted.
::once:` + image.AgentPath + ` init
::shutdown:` + BusyboxPath + ` sync
`

// File is one file of the init layer, at a path inside the root filesystem.
type File struct {
	Path string      // absolute, inside the root filesystem
	Mode fs.FileMode // permission bits, with fs.ModeSymlink for a symlink
	// Data is a regular file's content; Link a symlink's target.
	Data []byte
	Link string
}

// Layer returns the files that add the init to the image whose root
// filesystem is rootfs: InittabPath and InitPath (a symlink to
// BusyboxPath), each at the place the image's symlinked directories lead
// to (with /sbin a symlink to usr/sbin, the init goes to /usr/sbin/init).
// It fails when the image has no busybox or already has an init.
func Layer(rootfs string) ([]File, error) {
	fi, err := os.Stat(filepath.Join(rootfs, BusyboxPath))
	if err != nil {
		return nil, fmt.Errorf("the image has no busybox to run as init: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the image's %s is not a regular file", BusyboxPath)
	}
	initAt, err := Resolve(rootfs, InitPath)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(filepath.Join(rootfs, initAt)); err == nil {
		return nil, fmt.Errorf("the image already has an init at %s", InitPath)
	}
	tabAt, err := Resolve(rootfs, InittabPath)
	if err != nil {
		return nil, err
	}
	return []File{
		{Path: tabAt, Mode: 0o644, Data: []byte(Inittab)},
		{Path: initAt, Mode: fs.ModeSymlink | 0o777, Link: BusyboxPath},
	}, nil
}

// maxLinks bounds the symlinks Resolve follows, as the kernel does.
const maxLinks = 40

// Resolve returns where p (an absolute path inside the root filesystem
// rootfs) is once the symlinks among its parent directories are followed
// the way they would be inside the sandbox: absolute targets from the
// sandbox's root, never above it. The last element is not followed.
func Resolve(rootfs, p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("path %q inside the image is not absolute", p)
	}
	dir, base := path.Split(path.Clean(p))
	if base == "" {
		return "/", nil
	}
	links := 0
	resolved := "/"
	todo := strings.Split(strings.Trim(dir, "/"), "/")
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, c)
		fi, err := os.Lstat(filepath.Join(rootfs, next))
		if errors.Is(err, fs.ErrNotExist) {
			// Made as a directory when the layer is written.
			resolved = next
			continue
		}
		if err != nil {
			return "", fmt.Errorf("resolving %s in the image: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.IsDir() {
				return "", fmt.Errorf("resolving %s in the image: %s is not a directory", p, next)
			}
			resolved = next
			continue
		}
		links++
		if links > maxLinks {
			return "", fmt.Errorf("resolving %s in the image: too many symlinks", p)
		}
		target, err := os.Readlink(filepath.Join(rootfs, next))
		if err != nil {
			return "", fmt.Errorf("resolving %s in the image: %w", p, err)
		}
		if path.IsAbs(target) {
			resolved = "/"
		}
		todo = append(strings.Split(strings.Trim(target, "/"), "/"), todo...)
	}
	return path.Join(resolved, base), nil
}

// Write writes the layer's files under dir (a root filesystem or an
// overlay's upper layer), making missing parent directories (mode 0755).
func Write(dir string, files []File) error {
	for _, f := range files {
		p := filepath.Join(dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("writing the init layer: %w", err)
		}
		if f.Mode&fs.ModeSymlink != 0 {
			if err := os.Symlink(f.Link, p); err != nil {
				return fmt.Errorf("writing the init layer: %w", err)
			}
			continue
		}
		if err := os.WriteFile(p, f.Data, f.Mode.Perm()); err != nil {
			return fmt.Errorf("writing the init layer: %w", err)
		}
		// WriteFile's mode is subject to the umask.
		if err := os.Chmod(p, f.Mode.Perm()); err != nil {
			return fmt.Errorf("writing the init layer: %w", err)
		}
	}
	return nil
}

// Console is what ScanConsole found on a system container's console.
type Console struct {
	// Ready is set when the agent's Ready line was seen.
	Ready *agent.Ready
	// Failure is busybox init's message about a command it could not run
	// (e.g. "can't run '/.isobench/agent': No such file or directory").
	Failure string
}

// canRun starts the message busybox init writes on the console when it
// cannot execute an inittab action.
const canRun = "can't run '"

// ScanConsole reads the complete lines of a console log. It returns an
// error for a Ready line that does not decode or speaks another protocol
// version; anything else on the console (init's messages) is ignored but
// for busybox's "can't run" lines. A partial last line is not read.
func ScanConsole(log []byte) (Console, error) {
	var c Console
	for {
		i := bytes.IndexByte(log, '\n')
		if i < 0 {
			return c, nil
		}
		line := bytes.TrimRight(log[:i], "\r")
		log = log[i+1:]
		switch {
		case bytes.Contains(line, []byte(`"type":"`+agent.TypeReady+`"`)):
			// The console may prefix the line (a carriage return, a
			// terminal's escape): the message is the JSON object.
			j := bytes.IndexByte(line, '{')
			if j < 0 {
				continue
			}
			rd, err := agent.ParseReady(line[j:])
			if err != nil {
				return c, err
			}
			c.Ready = &rd
			return c, nil
		case c.Failure == "":
			if j := bytes.Index(line, []byte(canRun)); j >= 0 {
				c.Failure = strings.ToValidUTF8(string(line[j:]), "?")
			}
		}
	}
}
