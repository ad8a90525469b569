package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"

	"github.com/isobench/isobench/internal/driver/driverkit"
)

// Collect removes what isobench processes that no longer run left in the
// engine and on the host, and returns a line for each thing it removed:
//
//   - in the private daemon, if one is recorded: when it runs, the
//     containers and volumes of dead owners (see below), then the daemon
//     itself when no live isobench process uses it; when it died, what it
//     left (containerd and shims naming its exec root, mounts under its
//     roots, its exec root, socket and record);
//   - the network bridges of private daemons (isbeN, labelled
//     isobench-engine and the pid:start of their holder) whose holder no
//     longer runs;
//   - in a daemon the user runs (the engine's socket, or the one given
//     with WithSocket), if it answers: containers and volumes labelled
//     isobench.managed whose owner (isobench.owner, a pid and start time)
//     no longer runs, and workload images no container uses whose image
//     was removed from isobench's image cache (or superseded by a newer
//     import under the same tag). Probe images, a few megabytes, stay.
//
// Collect never starts a daemon, and never touches what lacks isobench's
// labels or belongs to a live isobench process (other than sandboxes of
// this very driver value that it does not hold open).
func (d *Driver) Collect(ctx context.Context) ([]string, error) {
	me, err := driverkit.Self()
	if err != nil {
		return nil, fmt.Errorf("%s: collect: %w", d.Name(), err)
	}
	var lines []string
	var errs []error
	if d.opt.socket == "" {
		for _, l := range d.privateLayouts() {
			ls, err := d.collectPrivate(ctx, l, me)
			lines = append(lines, ls...)
			if err != nil {
				errs = append(errs, err)
			}
		}
		if os.Geteuid() == 0 {
			// Bridges of private daemons whose holder died, whatever
			// state directory recorded them.
			ls, err := collectBridges()
			lines = append(lines, ls...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	answered := false
	if !d.opt.private {
		socket := d.opt.socket
		if socket == "" {
			socket = d.eng.socket
		}
		if pingSocket(ctx, socket) == nil {
			answered = true
			l, err := d.collectIn(ctx, socket, me)
			lines = append(lines, l...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if !answered && d.opt.socket == "" && d.eng.servicePerRuntime && os.Geteuid() == 0 {
		// Podman's containers outlive the service that made them: ask a
		// transient private service about them.
		l, err := d.collectTransient(ctx, me)
		lines = append(lines, l...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return lines, fmt.Errorf("%s: collect: %w", d.Name(), errors.Join(errs...))
	}
	return lines, nil
}

// collectTransient collects through a private service of the engine's
// default runtime, started for the purpose (or a running one, shared) and
// released at once.
func (d *Driver) collectTransient(ctx context.Context, me driverkit.Identity) ([]string, error) {
	if _, err := exec.LookPath(d.eng.daemonBinary); err != nil {
		return nil, nil
	}
	gd, err := New(d.env, d.eng.name, "", WithPrivateDaemon(), WithStartTimeout(d.opt.startTimeout))
	if err != nil {
		return nil, err
	}
	gd.token = d.token // what this driver value holds open stays
	c, err := gd.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting a service to collect with: %w", err)
	}
	lines, err := d.collectIn(ctx, c.socket, me)
	if cerr := gd.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return lines, err
}

// privateLayouts returns the layouts of this engine's private daemons under
// the Env: the engine's, and one per runtime for an engine with a service
// per runtime.
func (d *Driver) privateLayouts() []layout {
	out := []layout{newLayout(d.env, d.eng, d.eng.name)}
	if !d.eng.servicePerRuntime {
		return out
	}
	ents, _ := os.ReadDir(filepath.Join(d.env.StateDir, "engine"))
	for _, e := range ents {
		if v, ok := strings.CutPrefix(e.Name(), d.eng.name+"-"); ok && e.IsDir() && validName(v) {
			out = append(out, newLayout(d.env, d.eng, e.Name()))
		}
	}
	return out
}

// collectPrivate collects in and around a recorded private daemon.
func (d *Driver) collectPrivate(ctx context.Context, l layout, me driverkit.Identity) ([]string, error) {
	if _, err := os.Stat(l.record); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	unlock, err := lockFile(ctx, l.lock)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rec, err := readDaemonRecord(l.record)
	if err != nil || rec == nil {
		return nil, err
	}
	if !rec.Daemon.Alive() || pingSocket(ctx, rec.Socket) != nil {
		return stopRecorded(ctx, l, *rec)
	}
	lines, err := d.collectIn(ctx, rec.Socket, me)
	if err != nil {
		return lines, err
	}
	if liveUsers(l) > 0 {
		return lines, nil
	}
	ls, err := stopRecorded(ctx, l, *rec)
	return append(lines, ls...), err
}

// collectIn removes, in the daemon at socket, the containers and volumes
// of dead owners and the workload images nothing needs.
func (d *Driver) collectIn(ctx context.Context, socket string, me driverkit.Identity) ([]string, error) {
	cli, err := newClient(socket)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	var lines []string
	var errs []error
	managed := client.Filters{}.Add("label", labelManaged+"=true")

	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: managed})
	if err != nil {
		return nil, fmt.Errorf("listing containers at %s: %w", socket, err)
	}
	for _, c := range cs.Items {
		if d.keep(c.Labels, me) {
			continue
		}
		l, err := removeSandbox(ctx, cli, c.ID, "")
		lines = append(lines, withName(l, c.Labels[labelID])...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: managed})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing volumes at %s: %w", socket, err))
	} else {
		for _, v := range vs.Items {
			if d.keep(v.Labels, me) {
				continue
			}
			l, err := removeSandbox(ctx, cli, "", v.Name)
			lines = append(lines, l...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	l, err := d.collectImages(ctx, cli)
	lines = append(lines, l...)
	if err != nil {
		errs = append(errs, err)
	}
	return lines, errors.Join(errs...)
}

// keep says whether a labelled thing belongs to a live isobench process
// (other than a sandbox of this driver value that it does not hold open).
func (d *Driver) keep(labels map[string]string, me driverkit.Identity) bool {
	owner, err := driverkit.ParseIdentity(labels[labelOwner])
	if err != nil || !owner.Alive() {
		return false
	}
	if owner == me && labels[labelDriver] == d.token {
		return d.isOpen(labels[labelID])
	}
	return true
}

// collectImages removes workload images that no container uses and that
// are superseded (untagged) or whose source image left isobench's cache.
func (d *Driver) collectImages(ctx context.Context, cli *client.Client) ([]string, error) {
	imgs, err := cli.ImageList(ctx, client.ImageListOptions{All: true, Filters: client.Filters{}.Add("label", labelKind+"="+kindWorkload)})
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	if len(imgs.Items) == 0 {
		return nil, nil
	}
	used := map[string]bool{}
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	for _, c := range cs.Items {
		used[c.ImageID] = true
	}
	var lines []string
	var errs []error
	for _, im := range imgs.Items {
		if used[im.ID] || im.Labels[labelManaged] != "true" {
			continue
		}
		tagged := false
		for _, t := range im.RepoTags {
			if t != "<none>:<none>" {
				tagged = true
			}
		}
		src := im.Labels[labelImageRootfs]
		_, statErr := os.Stat(src)
		if tagged && src != "" && statErr == nil {
			continue
		}
		if _, err := cli.ImageRemove(ctx, im.ID, client.ImageRemoveOptions{Force: true}); err != nil {
			errs = append(errs, fmt.Errorf("removing image %s: %w", short(im.ID), err))
			continue
		}
		lines = append(lines, fmt.Sprintf("removed image %s (%v, source %s no longer in the image cache or superseded)", short(trimDigest(im.ID)), im.RepoTags, src))
	}
	return lines, errors.Join(errs...)
}

func trimDigest(id string) string {
	if len(id) > 7 && id[:7] == "sha256:" {
		return id[7:]
	}
	return id
}

// withName adds the sandbox id to lines about its container.
func withName(lines []string, id string) []string {
	if id == "" {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l + " (" + id + ")"
	}
	return out
}
