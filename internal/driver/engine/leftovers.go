package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

var _ driver.LeftoverFinder = (*Driver)(nil)

// leftoverListTimeout bounds the question to a running private daemon.
const leftoverListTimeout = 3 * time.Second

// Leftovers implements driver.LeftoverFinder for the engine's private
// daemons, which isobench starts and stops itself: a recorded daemon that
// died (its exec root, mounts and record are left), one that still runs
// though no live isobench process uses it, and, in a running one, the
// containers labelled isobench.managed whose owner no longer runs. It
// removes nothing and never starts a daemon; a daemon the user runs is
// not asked (gc asks it).
func (d *Driver) Leftovers(ctx context.Context) ([]driver.Leftover, error) {
	if d.opt.socket != "" {
		return nil, nil
	}
	me, err := driverkit.Self()
	if err != nil {
		return nil, fmt.Errorf("%s: leftovers: %w", d.Name(), err)
	}
	var out []driver.Leftover
	var errs []error
	for _, l := range d.privateLayouts() {
		rec, err := readDaemonRecord(l.record)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if rec == nil {
			continue
		}
		daemon := fmt.Sprintf("private %s daemon (pid %d, socket %s)", d.eng.name, rec.Daemon.PID, rec.Socket)
		if !rec.Daemon.Alive() {
			out = append(out, driver.Leftover{ID: daemon, What: "died; its exec root, mounts and record are left",
				OwnerPID: rec.StartedBy.PID, Created: rec.Started})
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, leftoverListTimeout)
		cs, err := d.deadOwners(lctx, rec.Socket, me)
		cancel()
		out = append(out, cs...)
		if err != nil {
			errs = append(errs, err)
		}
		if countLiveUsers(l) == 0 {
			out = append(out, driver.Leftover{ID: daemon, What: "still runs, and no running isobench uses it",
				OwnerPID: rec.StartedBy.PID, Created: rec.Started})
		}
	}
	if names, err := orphanBridges(); err != nil {
		errs = append(errs, err)
	} else {
		for _, n := range names {
			out = append(out, driver.Leftover{ID: "engine bridge " + n, What: "network bridge of a private daemon that no longer runs"})
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s: leftovers: %w", d.Name(), errors.Join(errs...))
	}
	return out, nil
}

// deadOwners lists the managed containers in the daemon at socket whose
// owner no longer runs.
func (d *Driver) deadOwners(ctx context.Context, socket string, me driverkit.Identity) ([]driver.Leftover, error) {
	cli, err := newClient(socket)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: client.Filters{}.Add("label", labelManaged+"=true")})
	if err != nil {
		return nil, fmt.Errorf("listing containers at %s: %w", socket, err)
	}
	var out []driver.Leftover
	for _, c := range cs.Items {
		if d.keep(c.Labels, me) {
			continue
		}
		owner, _ := driverkit.ParseIdentity(c.Labels[labelOwner])
		out = append(out, driver.Leftover{ID: c.Labels[labelID], What: d.eng.name + " container",
			OwnerPID: owner.PID, Created: time.Unix(c.Created, 0)})
	}
	return out, nil
}
