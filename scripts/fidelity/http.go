package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/host"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
	"github.com/isobench/isobench/internal/workload/apps"
)

// httpFidelity is comparison 4: on the host baseline, the http workload's
// requests/s (nginx in a host sandbox with its network link, wrk from the
// host, as `isobench run --runtimes host --workloads http` measures it)
// against wrk run by hand, with the same arguments and the same pinning,
// against an nginx started by hand with the same configuration in a host
// sandbox made the same way; interleaved in a seeded random order, each
// wrk run preceded by an unmeasured one of warmup seconds.
func httpFidelity(ctx context.Context, img *image.Image, work string, pairs, secs int, rng *rand.Rand) {
	env := driver.Env{StateDir: filepath.Join(work, "state"), RunDir: filepath.Join(work, "run")}
	d, err := host.New(env, "")
	check(err)
	info, err := d.Probe(ctx)
	check(err)
	const warmup, conns, threads, port = 1, 32, 1, 8080
	params := map[string]string{}
	for _, p := range (apps.HTTP{}).Params() {
		params[p.Name] = p.Default
	}
	for k, v := range map[string]string{"client": "host", "file": "1k", "connections": strconv.Itoa(conns),
		"threads": strconv.Itoa(threads), "duration": strconv.Itoa(secs), "warmup": strconv.Itoa(warmup),
		"port": strconv.Itoa(port), "workers": "1", "pin": "auto"} {
		params[k] = v
	}
	n := 0
	newSpec := func() driver.Spec {
		n++
		return driver.Spec{ID: fmt.Sprintf("isobench-fidelity-%d-http-%03d", os.Getpid(), n), Image: img}
	}

	// The server run by hand: a host sandbox with a link, nginx's files
	// and configuration as the workload writes them, nginx pinned to the
	// second CPU as the workload pins it on a host of two CPUs or more.
	spec := newSpec()
	spec.Network = true
	in, err := d.Create(ctx, spec)
	check(err)
	defer in.Close()
	check(in.Start(ctx))
	nw, ok := in.(driver.Networker)
	if !ok {
		check(fmt.Errorf("the host driver gives no network link"))
	}
	link, ok := nw.Network()
	if !ok {
		check(fmt.Errorf("the host sandbox has no network link"))
	}
	dir := path.Join(driver.ScratchDir(in), "nginx-by-hand")
	conf := path.Join(dir, "nginx.conf")
	pinned := cpus() >= 2
	sh := func(script string, args ...string) {
		var out bytes.Buffer
		argv := append([]string{"/bin/sh", "-c", script, "sh"}, args...)
		if err := in.Exec(ctx, argv, &out, &out); err != nil {
			check(fmt.Errorf("%s: %w: %s", script, err, out.String()))
		}
	}
	sh(`mkdir -p "$1/www" && dd if=/dev/zero of="$1/www/1k.bin" bs=1024 count=1 2>/dev/null && printf '%s' "$2" > "$3"`,
		dir, apps.NginxConf(dir, conns, 1, strconv.Itoa(port)), conf)
	serverArgv := []string{"nginx", "-e", "stderr", "-p", dir, "-c", conf}
	if pinned {
		serverArgv = append([]string{"taskset", "-c", "1"}, serverArgv...)
	}
	served := make(chan error, 1)
	var serverLog bytes.Buffer
	go func() { served <- in.Exec(ctx, serverArgv, &serverLog, &serverLog) }()
	defer func() {
		sh(`nginx -e stderr -p "$1" -c "$2" -s quit`, dir, conf)
		<-served
	}()
	url := "http://" + netip.AddrPortFrom(link.SandboxAddr, port).String() + "/1k.bin"
	waitHTTP(url, served, &serverLog)

	byHand := func(s int) float64 {
		argv := []string{"wrk", "--latency", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
			"-d", strconv.Itoa(s) + "s", "--timeout", "10s", url}
		if pinned {
			argv = append([]string{"taskset", "-c", "0"}, argv...)
		}
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
		check(err)
		m := regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)\s*$`).FindSubmatch(out)
		if m == nil {
			check(fmt.Errorf("no Requests/sec in wrk's output:\n%s", out))
		}
		v, err := strconv.ParseFloat(string(m[1]), 64)
		check(err)
		return v
	}

	var viaIsobench, hand []float64
	for i := 0; i < pairs; i++ {
		for _, iso := range pairOrder(rng) {
			if iso {
				rec := recorder{}
				t := &workload.Target{Runtime: info, Driver: d, NewSpec: newSpec, Params: params}
				check(apps.HTTP{}.Run(ctx, t, rec))
				viaIsobench = append(viaIsobench, rec["requests_per_sec"])
				continue
			}
			byHand(warmup)
			hand = append(hand, byHand(secs))
		}
	}
	report("4. http on the host baseline, nginx requests/s (1 KiB file, wrk -t1 -c32",
		fmt.Sprintf("%d interleaved pairs of %d s", pairs, secs), viaIsobench, hand, "wrk run by hand", pinned)
}

// report prints comparison 4's figures.
func report(what, how string, iso, hand []float64, handName string, pinned bool) {
	pin := "not pinned (one CPU)"
	if pinned {
		pin = "wrk on CPU 0, nginx on CPU 1"
	}
	fmt.Printf("%s; %s; %s)\n", what, how, pin)
	fmt.Printf("   %-16s median %.0f\n", handName, median(hand))
	fmt.Printf("   through isobench median %.0f\n", median(iso))
	fmt.Printf("   values, in order: by hand %.0f\n                     isobench %.0f\n", hand, iso)
	printRatio(iso, hand, "within 2% of 1.00")
}

// waitHTTP waits up to a minute for url to answer 200.
func waitHTTP(url string, served <-chan error, log *bytes.Buffer) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-served:
			check(fmt.Errorf("nginx exited: %v: %s", err, log.String()))
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	check(fmt.Errorf("nginx did not answer %s within a minute: %s", url, log.String()))
}

// cpus is the number of CPUs this process may run on.
func cpus() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 1
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

// printRatio prints the ratio of the medians of iso to ref with its 95%
// bootstrap interval and the Mann-Whitney p-value.
func printRatio(iso, ref []float64, bound string) {
	r, err := stats.Ratio(iso, ref, 1)
	check(err)
	cmp, err := stats.Compare(iso, ref, 0.05)
	check(err)
	fmt.Printf("   ratio %.4f  95%% CI [%.4f, %.4f]  Mann-Whitney p=%.3f  (bound: %s)\n\n", r.Ratio, r.Lo, r.Hi, cmp.P, bound)
}
