// Command fidelity measures how faithfully isobench measures, and prints the
// figures the README quotes:
//
//  1. host baseline: sysbench cpu events/s measured through isobench's host
//     driver and agent against plain sysbench run directly, interleaved in a
//     seeded random order; the ratio should be within 1% of 1.00;
//  2. startup: isobench's startup of a runc sandbox that runs /bin/true
//     against `runc run` of the same bundle invoked directly, interleaved;
//     the difference of the medians should be under 2 ms;
//  3. isobench's own CPU time while a 10 s workload runs, as a share of one
//     core; it should be under 1%;
//  4. http on the host baseline: the http workload's requests/s against
//     wrk run by hand (same arguments, same pinning) against nginx started
//     by hand with the workload's configuration in a host sandbox made the
//     same way, interleaved; the ratio should be within 2% of 1.00.
//
// It asserts nothing: machines differ, and shared machines are noisy. Run it
// as root from the repository root with scripts/fidelity.sh.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/host"
	"github.com/isobench/isobench/internal/driver/oci"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/startup"
	"github.com/isobench/isobench/internal/workload/sysbench"
)

func main() {
	pairs := flag.Int("pairs", 10, "interleaved pairs per comparison")
	secs := flag.Int("time", 5, "seconds per sysbench cpu run (comparison 1) and per measured wrk run (4)")
	agentPath := flag.String("agent", "bin/isobench-agent", "static agent binary")
	isobench := flag.String("isobench", "bin/isobench", "isobench binary (comparison 3)")
	seed := flag.Int64("seed", 1, "seed of the interleaved order")
	only := flag.String("only", "1234", "which comparisons to run")
	flag.Parse()
	defer exitOnFatal()
	ctx := context.Background()
	work, err := os.MkdirTemp("", "isobench-fidelity-")
	check(err)
	defer os.RemoveAll(work)

	agentAbs, err := filepath.Abs(*agentPath)
	check(err)
	img, err := image.Build(ctx, image.BuildOptions{CacheDir: filepath.Join(work, "cache"), Agent: agentAbs})
	check(err)
	rng := rand.New(rand.NewPCG(uint64(*seed), 7))
	for _, c := range *only {
		switch c {
		case '1':
			hostBaseline(ctx, img, work, *pairs, *secs, rng)
		case '2':
			startupFidelity(ctx, img, work, *pairs, rng)
		case '3':
			ownCPU(*isobench, work)
		case '4':
			httpFidelity(ctx, img, work, *pairs, *secs, rng)
		}
	}
}

// fatal carries an error from check up to main, so that the deferred
// clean-ups on the way (sandboxes, servers, the work directory) run.
type fatal struct{ err error }

func check(err error) {
	if err != nil {
		panic(fatal{err})
	}
}

// exitOnFatal ends the program on a fatal error once the stack unwound.
func exitOnFatal() {
	if r := recover(); r != nil {
		f, ok := r.(fatal)
		if !ok {
			panic(r)
		}
		fmt.Fprintln(os.Stderr, "fidelity:", f.err)
		os.Exit(1)
	}
}

type recorder map[string]float64

func (r recorder) Sample(m string, v float64) { r[m] = v }
func (recorder) Attr(string, string)          {}
func (recorder) Raw(string, string)           {}

// hostBaseline is comparison 1.
func hostBaseline(ctx context.Context, img *image.Image, work string, pairs, secs int, rng *rand.Rand) {
	d, err := host.New(driver.Env{StateDir: filepath.Join(work, "state"), RunDir: filepath.Join(work, "run")}, "")
	check(err)
	info, err := d.Probe(ctx)
	check(err)
	params := map[string]string{"max-prime": "20000", "threads": "1", "time": fmt.Sprint(secs), "events": "0"}
	var viaIsobench, plain []float64
	for i := 0; i < pairs; i++ {
		for _, iso := range pairOrder(rng) {
			if iso {
				in, err := d.Create(ctx, driver.Spec{ID: fmt.Sprintf("isobench-fidelity-%d", i), Image: img})
				check(err)
				check(in.Start(ctx))
				rec := recorder{}
				err = sysbench.CPU{}.Run(ctx, &workload.Target{Runtime: info, Instance: in, Params: params, Scratch: driver.ScratchDir(in)}, rec)
				check(err)
				check(in.Close())
				viaIsobench = append(viaIsobench, rec["events_per_sec"])
				continue
			}
			out, err := exec.CommandContext(ctx, "sysbench", "cpu", "--cpu-max-prime=20000", "--threads=1",
				fmt.Sprintf("--time=%d", secs), "--events=0", "run").Output()
			check(err)
			rep, err := sysbench.Parse(string(out))
			check(err)
			v, err := rep.Float("cpu speed/events per second")
			check(err)
			plain = append(plain, v)
		}
	}
	r, err := stats.Ratio(viaIsobench, plain, 1)
	check(err)
	cmp, err := stats.Compare(viaIsobench, plain, 0.05)
	check(err)
	fmt.Printf("1. host baseline, sysbench cpu events/s (%d interleaved pairs of %d s)\n", pairs, secs)
	fmt.Printf("   plain sysbench   median %.2f\n", median(plain))
	fmt.Printf("   through isobench median %.2f\n", median(viaIsobench))
	fmt.Printf("   ratio %.4f  95%% CI [%.4f, %.4f]  Mann-Whitney p=%.3f  (bound: within 1%% of 1.00)\n\n", r.Ratio, r.Lo, r.Hi, cmp.P)
}

// startupFidelity is comparison 2: a runc sandbox whose only process is
// /bin/true, run to completion, timed by isobench's startup workload
// (startup.OneShot) and by this program around `runc run` invoked directly
// on an identical bundle (made by the same driver, its process rewritten
// here), interleaved.
func startupFidelity(ctx context.Context, img *image.Image, work string, pairs int, rng *rand.Rand) {
	env := driver.Env{StateDir: filepath.Join(work, "state"), RunDir: filepath.Join(work, "run")}
	d, err := oci.NewRunc(env, "")
	check(err)
	_, err = d.Probe(ctx)
	check(err)
	argv := []string{"/bin/true"}
	var viaIsobench, direct []float64
	for i := 0; i < pairs; i++ {
		for _, iso := range pairOrder(rng) {
			spec := driver.Spec{ID: fmt.Sprintf("isobench-fidelity-%03d-%d", i, map[bool]int{true: 1, false: 2}[iso]), Image: img}
			if iso {
				tm, err := startup.OneShot(ctx, d, spec, argv)
				check(err)
				viaIsobench = append(viaIsobench, tm["oneshot"])
				continue
			}
			in, err := d.Create(ctx, spec)
			check(err)
			b, ok := in.(interface{ BundleDir() string })
			if !ok {
				check(fmt.Errorf("the runc driver does not expose its bundle"))
			}
			check(setArgs(filepath.Join(b.BundleDir(), "config.json"), argv))
			cmd := exec.CommandContext(ctx, "runc", "run", "--bundle", b.BundleDir(), spec.ID)
			t0 := time.Now()
			err = cmd.Run()
			el := time.Since(t0).Seconds()
			check(err)
			check(in.Close())
			direct = append(direct, el)
		}
	}
	cmp, err := stats.Compare(viaIsobench, direct, 0.05)
	check(err)
	fmt.Printf("2. startup: runc sandbox running /bin/true to completion (%d interleaved pairs)\n", pairs)
	fmt.Printf("   runc run invoked directly  median %.2f ms\n", 1e3*median(direct))
	fmt.Printf("   isobench startup (oneshot) median %.2f ms\n", 1e3*median(viaIsobench))
	fmt.Printf("   difference %+.2f ms  Mann-Whitney p=%.3f  (bound: under 2 ms)\n\n", 1e3*(median(viaIsobench)-median(direct)), cmp.P)
}

// setArgs rewrites the process arguments of an OCI config.json.
func setArgs(path string, argv []string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	proc, ok := cfg["process"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s has no process", path)
	}
	proc["args"] = argv
	out, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}

// ownCPU is comparison 3: the isobench binary runs a 10 s cpu workload on
// the host and on runc; each trial records isobench's own CPU time.
func ownCPU(isobench, work string) {
	out := filepath.Join(work, "own.json")
	cmd := exec.Command(isobench, "--db", filepath.Join(work, "db.sqlite"), "--cache-dir", filepath.Join(work, "cache"),
		"run", "--runtimes", "host,runc", "--workloads", "cpu", "--set", "cpu.time=10",
		"--trials", "2", "--warmups", "0", "--json", out)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	check(cmd.Run())
	run, err := readRun(out)
	check(err)
	fmt.Println("3. isobench's own CPU time during 10 s cpu trials (share of one core)")
	for _, t := range run.Trials {
		wall := t.End.Sub(t.Start).Seconds()
		var cpu float64
		fmt.Sscan(t.Attrs["isobench.cpu_sec"], &cpu)
		fmt.Printf("   %-5s trial %d: %.3f s CPU over %.1f s = %.3f%%  (bound: under 1%%)\n", t.Cell.Runtime, t.Index+1, cpu, wall, 100*cpu/wall)
	}
	fmt.Println()
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// pairOrder is the order of one interleaved pair, drawn from rng: through
// isobench first (true) or the direct way first.
func pairOrder(rng *rand.Rand) []bool {
	if rng.IntN(2) == 0 {
		return []bool{false, true}
	}
	return []bool{true, false}
}
