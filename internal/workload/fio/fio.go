package fio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/inputfile"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/storage"
)

// FIO is the fio workload.
type FIO struct{}

var (
	_ workload.Workload       = FIO{}
	_ workload.TrialTimeouter = FIO{}
	_ workload.Discloser      = FIO{}
	_ workload.GrantTaker     = FIO{}
)

// builtinJobs are the built-in jobs, by name, with fio's rw= value.
func builtinJobs() []struct{ name, rw string } {
	return []struct{ name, rw string }{
		{"seqread", "read"}, {"seqwrite", "write"},
		{"randread", "randread"}, {"randwrite", "randwrite"}, {"randrw", "randrw"},
	}
}

// JobProfile is the job parameter's value in a cell that runs a user's job
// file.
const JobProfile = "profile"

// MaxProfile bounds a user's job file. The file travels into the sandbox
// as one command-line argument, so it must stay well under the kernel's
// limit on one argument (128 KiB).
const MaxProfile = 64 << 10

// profileName is the job file's name in the scratch directory.
const profileName = "isobench-job.fio"

// startMargin is what a trial may spend besides fio's own commands: making,
// starting and freeing the sandbox, under software emulation at worst.
const startMargin = 3 * time.Minute

func jobRW(name string) (string, bool) {
	for _, j := range builtinJobs() {
		if j.name == name {
			return j.rw, true
		}
	}
	return "", false
}

func jobNames() []string {
	var out []string
	for _, j := range builtinJobs() {
		out = append(out, j.name)
	}
	return out
}

// Name implements workload.Workload.
func (FIO) Name() string { return "fio" }

// Doc implements workload.Workload.
func (FIO) Doc() string {
	return "fio: sequential and random reads and writes (or a job file) in the scratch directory; bandwidth, IOPS, completion latency p50/p95/p99"
}

// Params implements workload.Workload.
func (FIO) Params() []workload.Param {
	return append([]workload.Param{
		{Name: "job", Default: "seqread,seqwrite,randread,randwrite", Doc: "built-in jobs, comma-separated, one cell each: " + strings.Join(jobNames(), ", ") + " (set to \"profile\" when profile is given)"},
		{Name: "profile", Default: "", Doc: "a fio job file on the host to run instead of the built-in jobs; it is copied into the scratch directory and run there (relative file names land in the scratch directory; its jobs must form one group; include directives are refused, and so are options that run commands or load code, exec_prerun, exec_postrun, ioengine=exec and engines that are not fio's own, unless isobench run --allow-exec is given); the run keeps its name and sha256 digest, and its text only with --store-profile"},
		{Name: "bs", Default: "4k", Doc: "block size of the built-in jobs (fio syntax, e.g. 4k, 1m; at most 1g)"},
		{Name: "size", Default: "256m", Doc: "file size of each built-in job (fio syntax; at most 4t)", Profiles: map[string]string{"quick": "32m"}},
		{Name: "time", Default: "10", Doc: "seconds each built-in job runs (time_based; 1 to 86400)", Profiles: map[string]string{"quick": "2"}},
		{Name: "ioengine", Default: "psync", Doc: "fio I/O engine of the built-in jobs (psync, sync, libaio, io_uring, mmap, ...)"},
		{Name: "iodepth", Default: "1", Doc: "I/O depth of the built-in jobs (matters with async engines; 1 to 65536)"},
		{Name: "direct", Default: "false", Doc: "true: O_DIRECT, bypassing the page cache (not every filesystem allows it)"},
		{Name: "numjobs", Default: "1", Doc: "parallel copies of each built-in job, reported together (1 to 1024)"},
	}, storage.Params()...)
}

// Metrics implements workload.Workload. Each direction that did I/O is
// recorded.
func (FIO) Metrics() []workload.Metric {
	var out []workload.Metric
	for _, d := range []string{"read", "write"} {
		out = append(out,
			workload.Metric{Name: d + "_bw", Unit: workload.UnitBytesPerSec, Label: d, HigherIsBetter: true, Headline: true},
			workload.Metric{Name: d + "_iops", Unit: workload.UnitOpsPerSec, Label: d + " IOPS", HigherIsBetter: true, Headline: true},
			workload.Metric{Name: d + "_clat_p99", Unit: workload.UnitSeconds, Label: d + " clat p99", Headline: true},
			workload.Metric{Name: d + "_clat_p95", Unit: workload.UnitSeconds, Label: d + " clat p95"},
			workload.Metric{Name: d + "_clat_p50", Unit: workload.UnitSeconds, Label: d + " clat p50"},
			workload.Metric{Name: d + "_clat_mean", Unit: workload.UnitSeconds, Label: d + " clat mean"},
			workload.Metric{Name: d + "_clat_min", Unit: workload.UnitSeconds, Label: d + " clat min"},
			workload.Metric{Name: d + "_clat_max", Unit: workload.UnitSeconds, Label: d + " clat max"},
			workload.Metric{Name: d + "_bytes", Unit: workload.UnitBytes, Label: d + " bytes", HigherIsBetter: true},
		)
	}
	return out
}

// Sweep gives one parameter set per listed job, or one for a job file (see
// plan.Sweeper).
func (FIO) Sweep(p map[string]string) ([]map[string]string, error) {
	if p["profile"] != "" {
		q := maps.Clone(p)
		q["job"] = JobProfile
		return []map[string]string{q}, nil
	}
	var out []map[string]string
	seen := map[string]bool{}
	for _, j := range strings.Split(p["job"], ",") {
		j = strings.TrimSpace(j)
		if _, ok := jobRW(j); !ok {
			return nil, fmt.Errorf("parameter job: %q is not one of %s (or give a profile)", j, strings.Join(jobNames(), ", "))
		}
		if seen[j] {
			return nil, fmt.Errorf("parameter job: %q is listed twice", j)
		}
		seen[j] = true
		q := maps.Clone(p)
		q["job"] = j
		out = append(out, q)
	}
	return out, nil
}

// Check implements workload.Workload for the parameters of one cell.
func (FIO) Check(_ driver.Info, p map[string]string) error {
	if err := storage.Check(p); err != nil {
		return err
	}
	if _, err := storage.Bool(p, "direct"); err != nil {
		return err
	}
	if p["profile"] != "" {
		if p["job"] != JobProfile {
			return fmt.Errorf("parameter job: %q with a profile; a cell with a profile has job=%s", p["job"], JobProfile)
		}
		_, _, err := checkProfile(p["profile"], workload.GrantsOf(p))
		return err
	}
	if _, ok := jobRW(p["job"]); !ok {
		if strings.Contains(p["job"], ",") {
			return fmt.Errorf("parameter job: %q lists several jobs; a cell takes one (the plan makes one cell per job)", p["job"])
		}
		return fmt.Errorf("parameter job: %q is not one of %s", p["job"], strings.Join(jobNames(), ", "))
	}
	for _, s := range []struct {
		name string
		max  uint64
	}{{"bs", MaxBlockSize}, {"size", MaxSize}} {
		if err := checkSize(p, s.name, s.max); err != nil {
			return err
		}
	}
	for _, r := range []struct {
		name string
		hi   int64
	}{{"time", workload.MaxSeconds}, {"iodepth", MaxIODepth}, {"numjobs", workload.MaxThreads}} {
		if _, err := workload.IntParam(p, r.name, 1, r.hi); err != nil {
			return err
		}
	}
	if !regexp.MustCompile(`^[a-z0-9_]+$`).MatchString(p["ioengine"]) {
		return fmt.Errorf("parameter ioengine: %q is not an engine name", p["ioengine"])
	}
	if p["ioengine"] == "exec" || strings.HasPrefix(p["ioengine"], "external") {
		return fmt.Errorf("parameter ioengine: %q runs a program or loads code, which the built-in jobs never need", p["ioengine"])
	}
	return nil
}

// Bounds of the built-in jobs' parameters: they are untrusted input, and
// the host baseline runs fio as root.
const (
	// MaxBlockSize bounds bs.
	MaxBlockSize = 1 << 30
	// MaxSize bounds size, the file of each job.
	MaxSize = 4 << 40
	// MaxIODepth bounds iodepth (fio's own limit).
	MaxIODepth = 65536
)

// sizePattern is a size in fio's syntax as the built-in jobs take it: a
// whole number of bytes, or one with a unit (k, m, g, t, p, with an
// optional b or ib).
var sizePattern = regexp.MustCompile(`^[1-9][0-9]*([kKmMgGtTpP]([iI]?[bB])?)?$`)

// checkSize checks the size parameter name against sizePattern and max.
// fio reads every unit as a power of 1024 unless a job says kb_base=1000
// (which the built-in jobs never do), so that is how the bound is
// applied.
func checkSize(p map[string]string, name string, max uint64) error {
	v := p[name]
	m := sizePattern.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("parameter %s: %q is not a size in fio's syntax (e.g. 4k, 64m, 1g)", name, v)
	}
	digits, mult := v, uint64(1)
	if m[1] != "" {
		digits = v[:len(v)-len(m[1])]
		mult = 1 << (10 * (1 + strings.Index("kmgtp", strings.ToLower(m[1][:1]))))
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > max/mult {
		return fmt.Errorf("parameter %s: %q is more than %s, the most taken", name, v, sizeText(max))
	}
	return nil
}

// sizeText writes a bound in fio's syntax, with the largest unit that
// divides it.
func sizeText(v uint64) string {
	for i := 5; i > 0; i-- {
		u := uint64(1) << (10 * i)
		if v%u == 0 {
			return strconv.FormatUint(v/u, 10) + string("kmgtp"[i-1])
		}
	}
	return strconv.FormatUint(v, 10)
}

// TakesGrants implements workload.GrantTaker: a job file may run commands
// with workload.Grants.AllowExec, and is kept whole with StoreProfile.
func (FIO) TakesGrants() bool { return true }

// Disclose implements workload.Discloser: the job file is a host file
// isobench reads, and the commands it runs (allowed with --allow-exec) and
// the files outside the scratch directory it names are listed. A job file
// that runs commands without the grant is an error naming its line.
func (FIO) Disclose(p map[string]string) ([]workload.Disclosure, error) {
	if p["profile"] == "" {
		return nil, nil
	}
	_, ds, err := checkProfile(p["profile"], workload.GrantsOf(p))
	return ds, err
}

// checkProfile reads and checks a user's job file and says what it makes
// isobench do: its text, then the disclosures. Options that run commands
// or load code are an error unless g.AllowExec.
func checkProfile(file string, g workload.Grants) ([]byte, []workload.Disclosure, error) {
	b, err := readProfile(file)
	if err != nil {
		return nil, nil, err
	}
	kept := "its name and sha256 digest are stored with the run, not its text (--store-profile keeps the text)"
	if g.StoreProfile {
		kept = "its text is stored with the run and shown in reports (--store-profile)"
	}
	ds := []workload.Disclosure{{Kind: workload.DiscloseHostFile, Param: "profile", What: file,
		Note: "the fio job file: read by isobench and copied into the scratch directory of each sandbox; " + kept}}
	opts, err := scanJobFile(string(b))
	if err != nil {
		return nil, nil, fmt.Errorf("fio profile %s %w", file, err)
	}
	var refused []string
	for _, f := range execOptions(opts) {
		if !g.AllowExec {
			refused = append(refused, fmt.Sprintf("fio profile %s line %d: %s %s on the host baseline (as root) and in every sandbox; pass --allow-exec to allow it", file, f.Opt.Line, f.Opt.Key, f.Does))
			continue
		}
		what := f.Opt.Value
		if !f.Opt.HasValue {
			what = f.Opt.Key
		}
		ds = append(ds, workload.Disclosure{Kind: workload.DiscloseCommand, Param: "profile", What: what, Sandboxed: true,
			Note: fmt.Sprintf("%s line %d, job [%s]: %s %s", file, f.Opt.Line, f.Opt.Section, f.Opt.Key, f.Does)})
	}
	if len(refused) > 0 {
		return nil, nil, errors.New(strings.Join(refused, "\n"))
	}
	for _, o := range outsideScratch(opts) {
		ds = append(ds, workload.Disclosure{Kind: workload.DiscloseHostFile, Param: "profile", What: o.Value, Sandboxed: true,
			Note: fmt.Sprintf("%s line %d, job [%s]: %s names a file outside the scratch directory, which fio reads or writes", file, o.Line, o.Section, o.Key)})
	}
	return b, ds, nil
}

// readProfile reads and checks a user's job file. It must be a regular
// file (see inputfile.Read): a FIFO, a device or a directory is refused
// without being opened for a blocking read, even one swapped in after a
// check.
func readProfile(file string) ([]byte, error) {
	b, err := inputfile.Read(file, MaxProfile)
	if err != nil {
		var tl *inputfile.TooLargeError
		if errors.As(err, &tl) {
			return nil, fmt.Errorf("parameter profile: %s is more than the %d accepted bytes", file, MaxProfile)
		}
		return nil, fmt.Errorf("parameter profile: %w", err)
	}
	for i, c := range b {
		if c == 0 {
			line := 1 + strings.Count(string(b[:i]), "\n")
			return nil, fmt.Errorf("parameter profile: %s line %d: a NUL byte; a job file is text", file, line)
		}
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("parameter profile: %s is not UTF-8 text", file)
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil, fmt.Errorf("parameter profile: %s is empty", file)
	}
	return b, nil
}

// runLimit is the agent's limit on one fio command.
func runLimit(p map[string]string) time.Duration {
	if p["profile"] != "" {
		return 30 * time.Minute
	}
	secs, err := strconv.Atoi(p["time"])
	if err != nil || secs < 1 {
		return 30 * time.Minute
	}
	return time.Duration(secs)*3*time.Second + 2*time.Minute
}

// layoutLimit is the agent's limit on laying the files out.
const layoutLimit = 15 * time.Minute

// TrialTimeout implements workload.TrialTimeouter.
func (FIO) TrialTimeout(p map[string]string) time.Duration {
	return startMargin + layoutLimit + 3*time.Minute + runLimit(p)
}

// args are fio's arguments for the cell, the job file (if any) being at
// jobFile.
func args(p map[string]string, jobFile string) ([]string, error) {
	a := []string{"fio", "--output-format=json", "--group_reporting", "--percentile_list=" + PercentileList}
	if p["profile"] != "" {
		return append(a, jobFile), nil
	}
	rw, ok := jobRW(p["job"])
	if !ok {
		return nil, fmt.Errorf("parameter job: unknown job %q", p["job"])
	}
	direct, err := storage.Bool(p, "direct")
	if err != nil {
		return nil, err
	}
	d := "0"
	if direct {
		d = "1"
	}
	return append(a,
		"--name="+p["job"],
		"--rw="+rw,
		"--bs="+p["bs"],
		"--size="+p["size"],
		"--ioengine="+p["ioengine"],
		"--iodepth="+p["iodepth"],
		"--numjobs="+p["numjobs"],
		"--direct="+d,
		"--runtime="+p["time"],
		"--time_based",
	), nil
}

// Run implements workload.Workload.
func (FIO) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) error {
	p := t.Params
	drop, err := storage.Bool(p, storage.ParamDropCaches)
	if err != nil {
		return err
	}
	fs, err := storage.Describe(ctx, t, rec)
	if err != nil {
		return err
	}
	jobFile := path.Join(t.Scratch, profileName)
	grants := workload.GrantsOf(p)
	// fio's JSON output repeats a job file's options; unless the text is
	// to be kept, they are left out of what is stored.
	keep := func(out string) string {
		if p["profile"] == "" || grants.StoreProfile {
			return out
		}
		return withoutOptions(out)
	}
	if p["profile"] != "" {
		// The file is read and checked again: what is copied is what was
		// checked, even if it changed since the run's first check.
		b, _, err := checkProfile(p["profile"], grants)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rec.Attr("fio.profile", p["profile"])
		rec.Attr("fio.profile_sha256", hex.EncodeToString(sum[:]))
		if grants.StoreProfile {
			rec.Raw("fio.job", string(b))
		}
		// The file goes in as an argument of a shell's printf: Exec has no
		// standard input, and every driver can pass arguments.
		if _, err := t.MustRun(ctx, agent.Request{
			Argv:    []string{"sh", "-c", `printf '%s' "$1" > "$2"`, "sh", string(b), jobFile},
			Timeout: 2 * time.Minute,
		}); err != nil {
			return fmt.Errorf("copying the job file into the sandbox: %w", err)
		}
	}
	a, err := args(p, jobFile)
	if err != nil {
		return err
	}
	prep, err := t.Run(ctx, agent.Request{Argv: append(append([]string(nil), a...), "--create_only=1"), Dir: t.Scratch, Timeout: layoutLimit})
	if err != nil {
		return fmt.Errorf("fio --create_only: %w", err)
	}
	rec.Raw("fio.prepare", keep(prep.Stdout))
	if err := prep.Err(); err != nil {
		return fmt.Errorf("fio laying out files on %s (%s): %w", fs.FSType, t.ScratchKind, err)
	}
	rec.Attr("fio.prepare_seconds", storage.FormatSeconds(prep.Wall()))
	if err := storage.SettleCache(ctx, t, rec, drop); err != nil {
		return err
	}
	res, err := t.Run(ctx, agent.Request{Argv: a, Dir: t.Scratch, Timeout: runLimit(p)})
	if err != nil {
		return fmt.Errorf("fio: %w", err)
	}
	rec.Raw("fio.stdout", keep(res.Stdout))
	if res.Stderr != "" {
		rec.Raw("fio.stderr", res.Stderr)
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("fio %s on %s (%s): %w", p["job"], fs.FSType, t.ScratchKind, err)
	}
	if err := record(res.Stdout, p["job"], rec); err != nil {
		return err
	}
	// Cleanup is outside the measurement; the scratch directory goes with
	// the sandbox anyway.
	clean, err := t.Run(ctx, agent.Request{Argv: []string{"sh", "-c", `rm -rf -- ./* ./.[!.]*`}, Dir: t.Scratch, Timeout: layoutLimit})
	if err == nil {
		err = clean.Err()
	}
	if err != nil {
		rec.Attr("fio.cleanup_error", err.Error())
	}
	return nil
}

// record parses a fio run's output and records its figures. A built-in
// job's direction must have done I/O; a job file's directions are recorded
// as they come.
func record(out, job string, rec workload.Recorder) error {
	r, err := Parse(out)
	if err != nil {
		return err
	}
	if rw, ok := jobRW(job); ok {
		reads := rw == "read" || rw == "randread" || rw == "randrw"
		writes := rw == "write" || rw == "randwrite" || rw == "randrw"
		if reads && r.Read == nil {
			return fmt.Errorf("fio job %s did no reads: nothing was measured", job)
		}
		if writes && r.Write == nil {
			return fmt.Errorf("fio job %s did no writes: nothing was measured", job)
		}
	}
	rec.Attr("fio.version", r.Version)
	for _, d := range []struct {
		name string
		f    *Figures
	}{{"read", r.Read}, {"write", r.Write}} {
		if d.f == nil {
			continue
		}
		rec.Sample(d.name+"_bw", d.f.BytesPerSec)
		rec.Sample(d.name+"_iops", d.f.IOPS)
		rec.Sample(d.name+"_bytes", d.f.Bytes)
		rec.Sample(d.name+"_clat_mean", d.f.ClatMean)
		rec.Sample(d.name+"_clat_min", d.f.ClatMin)
		rec.Sample(d.name+"_clat_max", d.f.ClatMax)
		rec.Sample(d.name+"_clat_p50", d.f.ClatP[50])
		rec.Sample(d.name+"_clat_p95", d.f.ClatP[95])
		rec.Sample(d.name+"_clat_p99", d.f.ClatP[99])
	}
	return nil
}
