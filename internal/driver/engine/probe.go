package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

// testContainer runs `true` in a container of the probe image with the
// driver's runtime, and removes it. Its failure, in the engine's words,
// becomes the reason of an ErrNotSupported error.
func (d *Driver) testContainer(ctx context.Context, c *conn) error {
	ref, err := d.ensureProbeImage(ctx, c)
	if err != nil {
		return driver.NotSupported(d.Name(), "%v", err)
	}
	spec := driver.Spec{ID: fmt.Sprintf("%sprobe-%s-%d", driver.IDPrefix, d.token, d.probes.Add(1))}
	labels := d.labels(c, spec, kindSandbox)
	hc := &container.HostConfig{Runtime: c.rt.request, NetworkMode: "none", Resources: container.Resources{Ulimits: c.limits}}
	cfg := &container.Config{Image: ref, Entrypoint: []string{"/bin/busybox", "true"}, Labels: labels}
	res, err := c.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: spec.ID, Config: cfg, HostConfig: hc})
	if err != nil {
		return driver.NotSupported(d.Name(), "creating a test container: %v", err)
	}
	cid := res.ID
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		// A failure to clean up is reported by Close and gc; the probe's
		// answer stands.
		_, _ = removeSandbox(rctx, c.cli, cid, "")
	}()
	start := time.Now()
	wait := c.cli.ContainerWait(ctx, cid, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := c.cli.ContainerStart(ctx, cid, client.ContainerStartOptions{}); err != nil {
		return driver.NotSupported(d.Name(), "a test container (busybox true) does not start: %v", err)
	}
	select {
	case r := <-wait.Result:
		if r.Error != nil && r.Error.Message != "" {
			return driver.NotSupported(d.Name(), "a test container (busybox true) failed: %s", r.Error.Message)
		}
		if r.StatusCode != 0 {
			return driver.NotSupported(d.Name(), "a test container (busybox true) exited with status %d%s", r.StatusCode, d.logsOf(c, cid))
		}
		return nil
	case err := <-wait.Error:
		if ctx.Err() != nil {
			return driver.NotSupported(d.Name(), "a test container (busybox true) did not finish within %s", time.Since(start).Round(time.Second))
		}
		return driver.NotSupported(d.Name(), "waiting for a test container: %v", err)
	}
}

// logsOf returns ": " and the tail of a container's output, or "".
func (d *Driver) logsOf(c *conn, cid string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc, err := c.cli.ContainerLogs(ctx, cid, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var b strings.Builder
	buf := driverkit.NewTailBuffer(1000)
	_, _ = stdcopyBoth(buf, rc)
	b.WriteString(strings.TrimSpace(buf.String()))
	if b.Len() == 0 {
		return ""
	}
	return fmt.Sprintf(": %s", b.String())
}
