package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/workload"
)

// Parameter names every file workload has.
const (
	ParamScratch    = "scratch"
	ParamDropCaches = "drop-caches"
)

// Values of the "cache.dropped" attribute.
const (
	DroppedNone    = "no"
	DroppedHost    = "host"
	DroppedSandbox = "host,sandbox"
)

// stepTimeout bounds each helper command run in the sandbox.
const stepTimeout = 2 * time.Minute

// Params returns the scratch and drop-caches parameters.
func Params() []workload.Param {
	return []workload.Param{
		{Name: ParamScratch, Default: driver.ScratchRootfs, Doc: "where the test files live: rootfs (the sandbox's own copy-on-write root, as docker run does; the study's choice), volume (a host directory bind-mounted in) or tmpfs (memory)"},
		{Name: ParamDropCaches, Default: "false", Doc: "true: between prepare and the timed run, write back and drop the host's page cache (and try the sandbox kernel's, for gVisor and VMs); false: files stay as prepare left them (warm), as in the study"},
	}
}

// Check validates the scratch and drop-caches parameters.
func Check(p map[string]string) error {
	switch p[ParamScratch] {
	case driver.ScratchRootfs, driver.ScratchVolume, driver.ScratchTmpfs:
	default:
		return fmt.Errorf("parameter %s: %q is not one of %s, %s, %s", ParamScratch, p[ParamScratch], driver.ScratchRootfs, driver.ScratchVolume, driver.ScratchTmpfs)
	}
	if _, err := Bool(p, ParamDropCaches); err != nil {
		return err
	}
	return nil
}

// Bool reads a boolean parameter (true/false, on/off, 1/0, yes/no).
func Bool(p map[string]string, name string) (bool, error) {
	switch strings.ToLower(p[name]) {
	case "true", "on", "1", "yes":
		return true, nil
	case "false", "off", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("parameter %s: %q is not true or false", name, p[name])
}

// Describe asks the agent in the sandbox which filesystem holds the
// target's scratch directory and records it as attributes:
//
//	scratch.fs             the filesystem type, e.g. overlay, tmpfs, ext4, 9p
//	scratch.mount_options  the mount's options, e.g. rw,relatime
//	scratch.super_options  the filesystem's own options
//	scratch.source         the mount's source
//	scratch.mount_point    where it is mounted, inside the sandbox
//	scratch.magic          statfs's type, with its usual name where known
//	scratch.note           what could not be found, if anything
func Describe(ctx context.Context, t *workload.Target, rec workload.Recorder) (agent.FSInfo, error) {
	if t.Scratch == "" {
		return agent.FSInfo{}, fmt.Errorf("the sandbox has no scratch directory")
	}
	if t.Instance == nil {
		return agent.FSInfo{}, fmt.Errorf("finding the scratch filesystem: no sandbox")
	}
	// The agent's fsinfo mode is run directly, as the command Exec runs
	// (not through the agent's exec mode), so that every driver finds the
	// agent where it puts the image's AgentPath.
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	var stdout, stderr bounded
	stdout.limit, stderr.limit = agent.MaxFSInfo, 64<<10
	argv := []string{image.AgentPath, "fsinfo", t.Scratch}
	if err := t.Instance.Exec(ctx, argv, &stdout, &stderr); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return agent.FSInfo{}, fmt.Errorf("finding the scratch filesystem: %s: %w: %s", strings.Join(argv, " "), err, oneLine(msg))
		}
		return agent.FSInfo{}, fmt.Errorf("finding the scratch filesystem: %s: %w", strings.Join(argv, " "), err)
	}
	rec.Raw("fsinfo", stdout.String())
	info, err := agent.ParseFSInfo([]byte(stdout.String()))
	if err != nil {
		return agent.FSInfo{}, fmt.Errorf("finding the scratch filesystem: %w", err)
	}
	rec.Attr("scratch.fs", info.FSType)
	magic := fmt.Sprintf("0x%x", info.Magic)
	if info.MagicName != "" {
		magic += " (" + info.MagicName + ")"
	}
	rec.Attr("scratch.magic", magic)
	for k, v := range map[string]string{
		"scratch.mount_options": info.MountOptions,
		"scratch.super_options": info.SuperOptions,
		"scratch.source":        info.Source,
		"scratch.mount_point":   info.MountPoint,
		"scratch.note":          info.Note,
	} {
		if v != "" {
			rec.Attr(k, v)
		}
	}
	return info, nil
}

// SettleCache runs between a workload's prepare step and its timed run. It
// always writes dirty data back inside the sandbox (sync), so that the run
// does not pay for prepare's writes. With drop set it then drops the host's
// page cache through t.Host and, for a sandbox with a kernel of its own
// (gVisor, a VM), tries to drop that kernel's cache too. It records:
//
//	cache.dropped  no | host | host,sandbox
//	cache.note     what was not dropped, and why
func SettleCache(ctx context.Context, t *workload.Target, rec workload.Recorder, drop bool) error {
	if _, err := t.MustRun(ctx, agent.Request{Argv: []string{"sync"}, Timeout: stepTimeout}); err != nil {
		return fmt.Errorf("writing back prepared files (sync in the sandbox): %w", err)
	}
	var notes []string
	if t.ScratchKind == driver.ScratchTmpfs {
		notes = append(notes, "tmpfs scratch: the files live in the page cache, nothing of them can be dropped")
	}
	defer func() {
		if len(notes) > 0 {
			rec.Attr("cache.note", strings.Join(notes, "; "))
		}
	}()
	if !drop {
		rec.Attr("cache.dropped", DroppedNone)
		notes = append(notes, "warm: files as prepare left them")
		return nil
	}
	if t.Host == nil {
		return fmt.Errorf("parameter %s=true: isobench cannot drop the host's page cache here (it needs root)", ParamDropCaches)
	}
	if err := t.Host.DropCaches(ctx); err != nil {
		return fmt.Errorf("dropping the host's page cache: %w", err)
	}
	switch t.Runtime.Isolation {
	case driver.IsolationUserKernel, driver.IsolationVM:
		res, err := t.Run(ctx, agent.Request{
			Argv:    []string{"sh", "-c", "echo 3 > /proc/sys/vm/drop_caches"},
			Timeout: stepTimeout,
		})
		if err == nil {
			err = res.Err()
		}
		if err != nil {
			rec.Attr("cache.dropped", DroppedHost)
			notes = append(notes, fmt.Sprintf("the sandbox kernel's own page cache was not dropped (%s): %s", t.Runtime.Isolation, oneLine(err.Error())))
			return nil
		}
		rec.Attr("cache.dropped", DroppedSandbox)
	default:
		// The sandbox runs on the host's kernel: the host's cache is its.
		rec.Attr("cache.dropped", DroppedHost)
	}
	return nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// FormatSeconds renders a duration in seconds for an attribute.
func FormatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// bounded keeps at most limit bytes and fails a write beyond them.
type bounded struct {
	buf   strings.Builder
	limit int
}

func (b *bounded) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.limit {
		return 0, fmt.Errorf("output over %d bytes", b.limit)
	}
	return b.buf.Write(p)
}

func (b *bounded) String() string { return b.buf.String() }
