package runner

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/hostinfo"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/store"
)

// TestBeginFinish records a new run, ends it interrupted, resumes it on a
// host whose kernel and runtime changed, and ends it finished.
func TestBeginFinish(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "isobench.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	img := &image.Image{ID: "img1", Manifest: image.Manifest{Source: "host", Tools: map[string]string{"sysbench": "1.0"}}}
	suite, _ := json.Marshal(plan.Suite{Runtimes: []string{"host"}})
	run := &result.Run{Started: time.Now(), Status: result.RunRunning, Suite: string(suite),
		Runtimes: []result.Runtime{{Name: "host", Version: "1"}}}
	if _, err := Begin(ctx, db, run, img, nil, hostinfo.Info{Kernel: "6.1"}); err != nil {
		t.Fatal(err)
	}
	if run.ID == "" || run.Env[result.EnvOwner] == "" || run.Env[hostinfo.KeyKernel] != "6.1" {
		t.Errorf("new run: id %q, env %v; want an id, the owner and the host", run.ID, run.Env)
	}
	cell := result.Cell{Runtime: "host", Workload: "cpu"}
	first := result.Trial{Seq: 0, Cell: cell, Status: result.StatusOK, Start: time.Now(), End: time.Now()}
	if err := db.AddTrial(ctx, run.ID, first); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stopped")
	if err := Finish(ctx, db, run, nil, []result.Trial{first}, stop); !errors.Is(err, stop) {
		t.Errorf("Finish returned %v, want the run's error", err)
	}
	stored, err := db.GetRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != result.RunInterrupted || stored.Ended.IsZero() {
		t.Errorf("after an error: status %s, ended %v", stored.Status, stored.Ended)
	}

	// Resumed where the kernel and the runtime's version changed.
	resumed, err := LoadResume(ctx, db, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Done.NextSeq != 1 || len(resumed.Done.Keys) != 1 || len(resumed.Trials) != 1 {
		t.Errorf("resume: next seq %d, %d done, %d stored trials; want the one trial", resumed.Done.NextSeq, len(resumed.Done.Keys), len(resumed.Trials))
	}
	stored = resumed.Run
	stored.Runtimes = []result.Runtime{{Name: "host", Version: "2"}}
	warnings, err := Begin(ctx, db, stored, img, resumed, hostinfo.Info{Kernel: "6.12"})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(warnings, "\n")
	for _, want := range []string{"since the run started, the kernel changed: 6.1 before, 6.12 now", "host: version changed when the run was resumed: 1 before, 2 after"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q lack %q", warnings, want)
		}
	}
	if stored.Status != result.RunRunning || !stored.Ended.IsZero() {
		t.Errorf("resumed: status %s, ended %v; want running again", stored.Status, stored.Ended)
	}
	second := result.Trial{Seq: 1, Cell: cell, Index: 1, Status: result.StatusOK, Start: time.Now(), End: time.Now()}
	if err := Finish(ctx, db, stored, resumed, []result.Trial{second}, nil); err != nil {
		t.Fatal(err)
	}
	if stored.Status != result.RunFinished || len(stored.Trials) != 2 {
		t.Errorf("finished: status %s, %d trials; want finished with the stored and the new", stored.Status, len(stored.Trials))
	}
}

func TestOwnerGone(t *testing.T) {
	me, err := driverkit.Self()
	if err != nil {
		t.Skipf("no identity of this process: %v", err)
	}
	for owner, want := range map[string]bool{"": false, "not an identity": false, me.String(): false} {
		if got := OwnerGone(owner); got != want {
			t.Errorf("OwnerGone(%q) = %v, want %v", owner, got, want)
		}
	}
}
