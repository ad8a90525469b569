package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/doctor"
	"github.com/isobench/isobench/internal/hostinfo"
	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/progress"
	"github.com/isobench/isobench/internal/report"
	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/runner"
)

type runFlags struct {
	runtimes  []string
	workloads []string
	sets      []string
	profile   string
	trials    int
	warmups   int
	seed      int64
	order     string
	baseline  string
	scratch   string
	jsonOut   string
	// resume names a stored run to finish; report is a file to write the
	// run's report to, in the format its extension names.
	resume    string
	report    string
	targetCI  string
	maxTrials int
	agent     string
	file      string
	timeout   time.Duration
	image     string
	// trustImage lets the host baseline run an imported image's programs
	// as root on the host (driver.Env.TrustImage).
	trustImage bool
	// verbose lists every warning under the table.
	verbose bool
	// imageLimits bound what an --image may hold.
	imageLimits imageLimitFlags
	// changed says whether the user gave a flag (cobra's Flags().Changed).
	changed func(name string) bool
	// kube holds the flags of --on kubernetes (see kube.go).
	kube kubeFlags
	// allowExec and storeProfile are what only the command line grants
	// (workload.Grants; see plan.Suite.WithGrants).
	allowExec    bool
	storeProfile bool
}

func (a *app) runCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run workloads on the host baseline and on isolation runtimes",
		Long: `Run each workload on each runtime in repeated trials, each in a fresh sandbox,
in a seeded interleaved order, and print each runtime's figures with its ratio
to the baseline. Runtimes that cannot work here are skipped with the reason.

Profiles:
` + plan.ProfilesHelp() + `

Workloads and parameters:
` + builtin.Workloads().Help(),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.changed = cmd.Flags().Changed
			return a.run(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "suite file (YAML) saying what to run; see isobench suite check and examples/")
	fl.StringVar(&f.image, "image", "", "run the workloads from this image instead of one built from the host's tools: an OCI layout directory, an OCI or docker-archive tar file, or a registry reference (see isobench image import)")
	addImageLimitFlags(fl, &f.imageLimits, "image-")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "list every warning of every cell under the table (without it, one line per runtime counts them)")
	fl.BoolVar(&f.trustImage, "trust-image", false, "let the host baseline run the --image's programs as root on this host, with no isolation (without it, a run of an imported image refuses the host runtime)")
	fl.DurationVar(&f.timeout, "timeout", 0, "time limit of each trial, e.g. 10m; a trial over it is killed and kept as timed out (default: each workload's own)")
	fl.StringSliceVar(&f.runtimes, "runtimes", nil, "runtimes to compare, comma-separated (default: every runtime that works here)")
	fl.StringSliceVar(&f.workloads, "workloads", []string{"cpu"}, "workloads to run, comma-separated")
	fl.StringArrayVar(&f.sets, "set", nil, "workload parameter, as WORKLOAD.PARAM=VALUE (repeatable)")
	fl.StringVar(&f.profile, "profile", plan.ProfileQuick, "parameter profile: quick or study")
	fl.Var(newIntFlag(&f.trials, 0, 1, plan.MaxTrials), "trials", fmt.Sprintf("measured trials per runtime and workload, 1 to %d (default: the profile's)", plan.MaxTrials))
	fl.Var(newIntFlag(&f.warmups, 0, 0, plan.MaxWarmups), "warmups", fmt.Sprintf("warm-up trials per runtime and workload, not counted, 0 to %d (default: the profile's)", plan.MaxWarmups))
	fl.Int64Var(&f.seed, "seed", 0, "seed of the trial order (default: random, printed)")
	fl.StringVar(&f.order, "order", plan.OrderInterleaved, "trial order: interleaved or blocks")
	fl.StringVar(&f.baseline, "baseline", "host", "runtime the others are compared against")
	fl.StringVar(&f.scratch, "scratch", "", "where file workloads keep their files: rootfs, volume or tmpfs")
	fl.StringVar(&f.jsonOut, "json", "", "write the run, every trial and sample, as JSON to this file")
	fl.StringVar(&f.resume, "resume", "", "finish a stored run (ID, prefix or latest): run only the trials it lacks, with its own plan and seed")
	fl.StringVar(&f.report, "report", "", "write the run's report to this file; the extension picks the format (.txt .json .csv .md .bench, else HTML)")
	fl.StringVar(&f.targetCI, "target-ci", "", "adaptive stop: add trials to a cell until its median is known to ±this (e.g. 2%): its 97.5% interval of the median within ±this, so that the reported 95% interval keeps its coverage after the repeated looks; up to --max-trials; stored with the run, kept by --resume")
	fl.Var(newIntFlag(&f.maxTrials, 30, 1, plan.MaxTrials), "max-trials", "with --target-ci: most measured trials per cell")
	fl.StringVar(&f.agent, "agent", "", "path of the static isobench-agent binary (default: beside isobench)")
	fl.BoolVar(&f.allowExec, "allow-exec", false, allowExecDoc)
	fl.BoolVar(&f.storeProfile, "store-profile", false, storeProfileDoc)
	addKubeRunFlags(fl, &f.kube)
	return cmd
}

func (a *app) run(ctx context.Context, f runFlags, stdout, stderr io.Writer) error {
	// Every flag is checked before anything is built, probed or recorded.
	target, err := checkRunFlags(f)
	if err != nil {
		return withStatus(ExitUsage, err)
	}
	if err := a.checkStore(); err != nil {
		return err
	}
	sets, err := plan.ParseSets(f.sets)
	if err != nil {
		return withStatus(ExitUsage, err)
	}
	wreg := builtin.Workloads()
	dreg := builtin.Drivers()
	var kr *kubeRun
	if f.kube.on != "" {
		// On a cluster, the runtimes are RuntimeClasses on its nodes.
		if kr, err = a.openKube(ctx, &f, stderr); err != nil {
			return err
		}
		dreg = kr.reg
	}
	suite, err := plan.CommandLine{
		Profile: f.profile, Trials: f.trials, Warmups: f.warmups, WarmupsGiven: f.changed != nil && f.changed("warmups"),
		Seed: f.seed, Order: f.order, Baseline: f.baseline, Timeout: f.timeout,
		Workloads: f.workloads, Sets: sets, Scratch: f.scratch,
	}.Suite(wreg)
	if err != nil {
		return withStatus(ExitUsage, err)
	}
	for w := range sets {
		if !slices.Contains(f.workloads, w) {
			return withStatus(ExitUsage, fmt.Errorf("--set names workload %q, which is not in --workloads (%s)", w, strings.Join(f.workloads, ",")))
		}
	}
	if f.file != "" {
		if suite, err = a.suiteFromFile(f, wreg); err != nil {
			return withStatus(ExitUsage, err)
		}
	}
	if suite, err = suite.WithGrants(wreg, f.grants()); err != nil {
		return withStatus(ExitUsage, err)
	}
	var resumed *plan.Resume
	if f.resume != "" {
		if resumed, err = a.loadResume(ctx, f); err != nil {
			return err
		}
		suite = resumed.Suite
	}
	if suite.Seed == 0 {
		if suite.Seed, err = plan.NewSeed(); err != nil {
			return err
		}
	}
	// The adaptive stop is part of the run's plan, stored with it: a
	// resumed run keeps its target.
	maxTrials := f.maxTrials
	switch {
	case resumed != nil:
		target, maxTrials = suite.TargetCI, suite.MaxTrials
	case target > 0:
		suite.TargetCI, suite.MaxTrials = target, maxTrials
	}
	// Check the workloads and parameters before anything slow happens.
	names := f.runtimes
	if len(names) == 0 {
		names = suite.Runtimes
	}
	if len(names) == 0 {
		names = dreg.Names()
	}
	suite.Runtimes = names
	if err := a.checkRunRuntimes(f, suite.Baseline, names, dreg, kr != nil); err != nil {
		return err
	}
	first, err := plan.Expand(suite, wreg)
	if err != nil {
		return withStatus(ExitUsage, err)
	}
	if err := checkAdaptive(f, target, first); err != nil {
		return withStatus(ExitUsage, err)
	}
	if err := plan.Disclose(stderr, suite, wreg); err != nil {
		return withStatus(ExitUsage, err)
	}
	if err := checkImageTrust(f, names, kr != nil); err != nil {
		return withStatus(ExitUsage, err)
	}
	// The host as it is before isobench builds, probes or starts anything
	// (a VM probe or a daemon would raise the load it reports).
	hostNow := hostinfo.Capture(ctx, hostinfo.Options{})

	denv, err := a.driverEnv()
	if err != nil {
		return err
	}
	denv.TrustImage = f.trustImage
	fmt.Fprint(stderr, doctor.LeftoversWarning(ctx, builtin.Drivers(), denv))
	defer a.watchInterrupt(ctx, stderr)()
	img, releaseImage, err := a.heldWorkloadImage(ctx, f.image, f.agent, f.imageLimits, stderr)
	if err != nil {
		return err
	}
	defer releaseImage()
	fmt.Fprintf(stderr, "image %s (%s)\n", shortID(img.ID), img.Rootfs)
	if kr != nil {
		if err := kr.useImage(ctx, img, stderr); err != nil {
			return err
		}
	}

	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	run := &result.Run{
		Started: time.Now(), Status: result.RunRunning, Command: append([]string{"isobench"}, a.args...),
		Version: a.env.Version, Seed: suite.Seed, Order: suite.Order, Profile: suite.Profile,
		Baseline: suite.Baseline,
	}
	if resumed != nil {
		run = resumed.Run
	}

	// Probe every runtime; keep those that work, say why the others do not.
	fmt.Fprintf(stderr, "probing %s ...\n", strings.Join(names, ", "))
	probes := runner.ProbeAll(ctx, dreg, denv, names, 90*time.Second)
	defer func() {
		if err := runner.CloseDrivers(probes); err != nil {
			fmt.Fprintln(stderr, err)
		}
	}()
	usable := runner.UsableOf(probes, suite)
	for _, sk := range usable.Skipped {
		fmt.Fprintf(stderr, "skipping %s: %s\n", sk.Runtime, sk.Reason)
	}
	run.Skipped = append(run.Skipped, usable.Skipped...)
	run.Runtimes = append(run.Runtimes, usable.Records...)
	if len(usable.Names) == 0 {
		return errors.New("no runtime works here (see the reasons above, or run isobench doctor)")
	}
	suite.Runtimes = usable.Names
	if !slices.Contains(usable.Names, suite.Baseline) {
		fmt.Fprintf(stderr, "note: baseline %s is not in this run; no ratios will be shown\n", suite.Baseline)
	}
	p, err := plan.Expand(suite, wreg)
	if err != nil {
		return withStatus(ExitUsage, err)
	}
	// Leave out cells the workload cannot run on that runtime.
	skipCell, skipped, err := runner.CheckCells(p, wreg, usable.Runtimes)
	if err != nil {
		return withStatus(ExitUsage, err)
	}
	run.Skipped = append(run.Skipped, skipped...)
	if resumed != nil {
		// Before the run is marked running again: stored trials must be
		// of cells its plan has (first, every runtime it named); those
		// of runtimes that cannot run now were skipped above, with the
		// reason, and the rest goes on.
		if p.Steps, err = resumed.Remaining(first, p); err != nil {
			return err
		}
	}
	suiteJSON, _ := json.Marshal(suite)
	run.Suite = string(suiteJSON)
	warnings, err := runner.Begin(ctx, db, run, img, resumed, hostNow)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if err != nil {
		return err
	}
	if resumed != nil {
		fmt.Fprintf(stderr, "resuming run %s: %d trials still to run, numbered from %d\n", run.ID, len(p.Steps), resumed.Done.NextSeq)
	}
	fmt.Fprintf(stderr, "run %s: %d runtimes × %d workloads, %d trials + %d warm-up each, %s order, seed %d\n",
		run.ID, len(usable.Names), len(suite.Workloads), p.Suite.Trials, p.Suite.Warmups, p.Suite.Order, suite.Seed)

	prog := progress.New(stderr, p, func(st plan.Step) bool {
		_, skip := skipCell[st.Cell]
		return skip
	}, progress.IsTerminal(stderr))
	defer prog.Close()
	r := &runner.Runner{
		RunID:     run.ID,
		Image:     img,
		Runtimes:  usable.Runtimes,
		Workloads: wreg,
		Sink:      &runner.StoreSink{DB: db, RunID: run.ID},
		Observer:  prog,
		Host:      runner.HostOps{},
		Hurry:     a.env.Hurry,
		Skip: func(st plan.Step, c result.Cell) bool {
			_, skip := skipCell[st.Cell]
			return skip
		},
	}
	if kr != nil && !kr.localNode() {
		// The page cache a workload drops between steps is the node's,
		// out of reach from here.
		r.Host = nil
	}
	var adaptive *runner.Adaptive
	if target > 0 {
		adaptive = &runner.Adaptive{Plan: p, Workloads: wreg, Target: target, MaxTrials: maxTrials}
		r.More = adaptive.More
	}
	// On a cluster, --kube-parallel trials may be in flight at once.
	parallel := 1
	if kr != nil {
		parallel = kr.parallel
	}
	trials, runErr := r.RunParallel(ctx, p, parallel)
	prog.Close()
	if adaptive != nil {
		if missed := adaptive.Unreached(trials); len(missed) > 0 {
			fmt.Fprintf(stderr, "cells that did not reach ±%s within %d trials:\n", report.PercentText(target), maxTrials)
			for _, m := range missed {
				fmt.Fprintf(stderr, "  %s\n", m)
			}
		} else {
			fmt.Fprintf(stderr, "every cell reached ±%s\n", report.PercentText(target))
		}
	}
	runErr = runner.Finish(ctx, db, run, resumed, trials, runErr)
	fmt.Fprintf(stderr, "stored run %s in %s\n", run.ID, db.Path())
	if f.jsonOut != "" {
		// The same document as report --format json.
		if err := writeReport(f.jsonOut, run, report.FormatJSON); err != nil {
			return errors.Join(runErr, err)
		}
		fmt.Fprintf(stderr, "wrote %s\n", f.jsonOut)
	}
	if f.report != "" {
		if err := writeReport(f.report, run, report.FormatOf(f.report)); err != nil {
			return errors.Join(runErr, err)
		}
		fmt.Fprintf(stderr, "wrote %s report to %s\n", report.FormatOf(f.report), f.report)
	}
	if err := report.Text(stdout, run, wreg, report.TextOptions{Verbose: f.verbose}); err != nil {
		return errors.Join(runErr, err)
	}
	if errors.Is(runErr, runner.ErrInterrupted) {
		return withStatus(ExitInterrupted, runErr)
	}
	if runErr != nil {
		return runErr
	}
	// A run that could not measure what it was asked fails (ExitUnjudged).
	if err := analysis.Unmeasured(run); err != nil {
		return withStatus(ExitUnjudged, err)
	}
	return nil
}

// checkImageTrust refuses, before anything is built or run, a run whose
// host baseline would run an imported image's programs as root on this
// host, unless the user said --trust-image. The host driver refuses such
// an image too (host.ErrUntrustedImage); this says so before the import.
func checkImageTrust(f runFlags, runtimes []string, onCluster bool) error {
	if f.image == "" || f.trustImage || onCluster {
		return nil
	}
	if err := builtin.CheckImageTrust(runtimes); err != nil {
		return fmt.Errorf("--image %s with the host runtime: %w.\n"+
			"Leave the host out (e.g. --runtimes runc,runsc --baseline runc), run the image isobench builds from this host's tools (no --image), "+
			"or, if you trust this image as you would a program you install as root, pass --trust-image", f.image, err)
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
