package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/isobench/isobench/internal/driver/driverkit"
	"github.com/isobench/isobench/internal/hostinfo"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/store"
)

// StoreSink commits each trial to the results store as it ends.
type StoreSink struct {
	DB    *store.Store
	RunID string
}

// Trial implements Sink.
func (s *StoreSink) Trial(ctx context.Context, t result.Trial) error {
	return s.DB.AddTrial(ctx, s.RunID, t)
}

// LoadResume reads the stored run id to resume: its record and suite (see
// plan.ResumeRun) and which of its trials are done.
func LoadResume(ctx context.Context, db *store.Store, id string) (*plan.Resume, error) {
	run, err := db.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	r, err := plan.ResumeRun(run)
	if err != nil {
		return nil, err
	}
	if r.Done, err = db.DoneTrials(ctx, id); err != nil {
		return nil, err
	}
	return r, nil
}

// Begin records a run in the store as it starts, owned by this process
// (result.EnvOwner): a new run with its environment, info, the host as
// captured before the run built or probed anything, to which the image's
// tools are added; or, for a resumed run, the run marked running again
// with its runtimes as probed now, completed with what it knew before
// (see plan.Resume.MergeRuntimes). It returns the warnings to show: the
// host's for a new run, for a resumed one what changed since it started.
func Begin(ctx context.Context, db *store.Store, run *result.Run, img *image.Image, resumed *plan.Resume, info hostinfo.Info) ([]string, error) {
	info.AddTools(img.ID, img.Manifest.Source, img.Manifest.Tools)
	owner := ""
	if me, err := driverkit.Self(); err == nil {
		owner = me.String()
	}
	var warnings []string
	if resumed == nil {
		run.Env = info.Env()
		if owner != "" {
			run.Env[result.EnvOwner] = owner
		}
		for _, wn := range info.Warnings() {
			warnings = append(warnings, wn.Message)
		}
		if err := db.CreateRun(ctx, run); err != nil {
			return warnings, fmt.Errorf("recording the run: %w", err)
		}
		return warnings, nil
	}
	for _, c := range resumed.EnvChanges(info) {
		warnings = append(warnings, "since the run started, "+c)
	}
	warnings = append(warnings, resumed.MergeRuntimes()...)
	run.Status, run.Ended = result.RunRunning, time.Time{}
	if owner != "" {
		if run.Env == nil {
			run.Env = map[string]string{}
		}
		run.Env[result.EnvOwner] = owner
	}
	if err := db.UpdateRun(ctx, run); err != nil {
		return warnings, fmt.Errorf("recording the resumed run: %w", err)
	}
	return warnings, nil
}

// Finish records the end of a run in the store: every trial (those stored
// before a resume, then this session's), the end time, and the status,
// interrupted when runErr is not nil. It is recorded even when ctx has
// ended (the user interrupted the run). It returns runErr joined with a
// failure to record.
func Finish(ctx context.Context, db *store.Store, run *result.Run, resumed *plan.Resume, trials []result.Trial, runErr error) error {
	run.Trials = resumed.AllTrials(trials)
	run.Ended = time.Now()
	run.Status = result.RunFinished
	if runErr != nil {
		run.Status = result.RunInterrupted
	}
	if err := db.UpdateRun(context.WithoutCancel(ctx), run); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("recording the end of the run: %w", err))
	}
	return runErr
}

// OwnerGone reports whether a run's owner (result.EnvOwner, see Begin) is
// known and no longer runs: a run still marked running was then killed.
func OwnerGone(owner string) bool {
	id, err := driverkit.ParseIdentity(owner)
	return err == nil && !id.Alive()
}
