package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/workloadtest"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		scratch, drop, want string
	}{
		{"rootfs", "false", ""}, {"volume", "true", ""}, {"tmpfs", "on", ""}, {"rootfs", "0", ""},
		{"", "false", `parameter scratch: "" is not one of rootfs, volume, tmpfs`},
		{"disk", "false", `parameter scratch: "disk"`},
		{"rootfs", "maybe", `parameter drop-caches: "maybe" is not true or false`},
	}
	for _, tc := range tests {
		err := Check(map[string]string{ParamScratch: tc.scratch, ParamDropCaches: tc.drop})
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Check(%q, %q) = %v, want %q", tc.scratch, tc.drop, err, tc.want)
		}
	}
	for _, p := range Params() {
		if p.Name == ParamScratch && p.Default != driver.ScratchRootfs {
			t.Errorf("scratch defaults to %q, want rootfs as in the study", p.Default)
		}
	}
}

type attrs map[string]string

func (a attrs) Sample(string, float64) {}
func (a attrs) Attr(k, v string)       { a[k] = v }
func (a attrs) Raw(string, string)     {}

var _ workload.Recorder = attrs{}

type failingHost struct{}

func (failingHost) DropCaches(context.Context) error { return errors.New("no permission") }

// target starts a host-baseline sandbox with the given scratch kind.
func target(t *testing.T, kind string) *workload.Target {
	t.Helper()
	img := workloadtest.Image(t)
	d, info, _ := workloadtest.Driver(t, "host")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inst, err := d.Create(ctx, driver.Spec{ID: driver.IDPrefix + "storage-test-" + kind, Image: img, Scratch: kind})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := inst.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := inst.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return &workload.Target{Runtime: info, Instance: inst, Scratch: driver.ScratchDir(inst), ScratchKind: kind}
}

func TestDescribeAndSettle(t *testing.T) {
	ctx := context.Background()
	tg := target(t, driver.ScratchTmpfs)
	a := attrs{}
	info, err := Describe(ctx, tg, a)
	if err != nil {
		t.Fatal(err)
	}
	if info.FSType != "tmpfs" || a["scratch.fs"] != "tmpfs" || a["scratch.mount_point"] != tg.Scratch {
		t.Errorf("tmpfs scratch described as %+v, attributes %v", info, a)
	}
	if err := SettleCache(ctx, tg, a, false); err != nil {
		t.Fatal(err)
	}
	if a["cache.dropped"] != DroppedNone || !strings.Contains(a["cache.note"], "tmpfs") {
		t.Errorf("warm tmpfs: attributes %v", a)
	}
	// Dropping needs the host's operations; without them it is an error
	// that says why, and a failure of the host is the trial's error too.
	if err := SettleCache(ctx, tg, attrs{}, true); err == nil || !strings.Contains(err.Error(), "needs root") {
		t.Errorf("drop without host operations: error %v", err)
	}
	tg.Host = failingHost{}
	if err := SettleCache(ctx, tg, attrs{}, true); err == nil || !strings.Contains(err.Error(), "no permission") {
		t.Errorf("drop with a failing host: error %v", err)
	}
}

func TestDescribeNoSandbox(t *testing.T) {
	if _, err := Describe(context.Background(), &workload.Target{Scratch: "/scratch"}, attrs{}); err == nil {
		t.Error("Describe without a sandbox: no error")
	}
	if _, err := Describe(context.Background(), &workload.Target{}, attrs{}); err == nil {
		t.Error("Describe without a scratch directory: no error")
	}
}
