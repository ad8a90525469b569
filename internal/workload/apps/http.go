package apps

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

// HTTP is the http workload: nginx serving static files from the sandbox,
// loaded with wrk.
type HTTP struct{}

var (
	_ workload.Workload       = HTTP{}
	_ workload.SandboxMaker   = HTTP{}
	_ workload.TrialTimeouter = HTTP{}
)

// httpFiles are the files nginx serves, by the name the file parameter
// takes, with their sizes.
var httpFiles = map[string]int64{"1k": 1 << 10, "100k": 100 << 10}

// Name implements workload.Workload.
func (HTTP) Name() string { return "http" }

// Doc implements workload.Workload.
func (HTTP) Doc() string {
	return "nginx serving a static file (1 KiB or 100 KiB) from the sandbox, loaded with wrk from the host (or, client=inside, from the sandbox's own loopback): requests/s, latency p50/p99, transfer/s"
}

// MakesSandboxes implements workload.SandboxMaker: the sandbox needs a
// network link, which the runner's sandboxes do not have.
func (HTTP) MakesSandboxes() bool { return true }

// Params implements workload.Workload.
func (HTTP) Params() []workload.Param {
	return []workload.Param{
		{Name: "client", Default: ClientHost, Doc: "where wrk runs: host (over the sandbox's network link) or inside (in the sandbox, against its own loopback: the server's cost without the network path)"},
		{Name: "file", Default: "1k", Doc: "the file requested: 1k (1 KiB) or 100k (100 KiB)"},
		{Name: "connections", Default: "32", Doc: "wrk's open connections (-c), at least threads"},
		{Name: "threads", Default: "1", Doc: "wrk's threads (-t)"},
		{Name: "duration", Default: "10", Doc: "seconds of the measured wrk run (-d)", Profiles: map[string]string{"quick": "2"}},
		{Name: "warmup", Default: "2", Doc: "seconds of an unmeasured wrk run that warms the server first (0: none)", Profiles: map[string]string{"quick": "1"}},
		{Name: "workers", Default: "1", Doc: "nginx worker processes"},
		{Name: "port", Default: "8080", Doc: "the port nginx listens on in the sandbox"},
		{Name: "pin", Default: "auto", Doc: "auto: on a host with two CPUs or more, the client on the first and the server on the second where the runtime allows (recorded in pin.*); off: no pinning"},
		{Name: "ready-timeout", Default: "60", Doc: "seconds nginx has to answer before the trial fails"},
	}
}

// Metrics implements workload.Workload.
func (HTTP) Metrics() []workload.Metric {
	return []workload.Metric{
		{Name: "requests_per_sec", Unit: workload.UnitOpsPerSec, Label: "requests/s", HigherIsBetter: true, Headline: true},
		{Name: "latency_p50", Unit: workload.UnitSeconds, Label: "latency p50", Headline: true},
		{Name: "latency_p99", Unit: workload.UnitSeconds, Label: "latency p99", Headline: true},
		{Name: "transfer_per_sec", Unit: workload.UnitBytesPerSec, Label: "transfer/s", HigherIsBetter: true, Headline: true},
		{Name: "latency_avg", Unit: workload.UnitSeconds, Label: "latency avg"},
		{Name: "socket_errors", Unit: workload.UnitCount, Label: "socket errors (connect, read, write, timeout)"},
	}
}

type httpConfig struct {
	client, file, pin                                     string
	connections, threads, duration, warmup, workers, port int64
	ready                                                 time.Duration
}

func parseHTTP(p map[string]string) (httpConfig, error) {
	var c httpConfig
	var err error
	if c.client, err = choice(p, "client", ClientHost, ClientInside); err != nil {
		return c, err
	}
	if c.file, err = choice(p, "file", "1k", "100k"); err != nil {
		return c, err
	}
	if c.pin, err = choice(p, "pin", "auto", "off"); err != nil {
		return c, err
	}
	v, err := ints(p,
		intRange{"connections", 1, maxConnections},
		intRange{"threads", 1, workload.MaxThreads},
		intRange{"duration", 1, 3600},
		intRange{"warmup", 0, maxWarmup},
		intRange{"workers", 1, 64},
		intRange{"port", 1, 65535},
		intRange{"ready-timeout", 1, maxReadyTimeout})
	if err != nil {
		return c, err
	}
	c.connections, c.threads, c.duration, c.warmup = v["connections"], v["threads"], v["duration"], v["warmup"]
	c.workers, c.port, c.ready = v["workers"], v["port"], time.Duration(v["ready-timeout"])*time.Second
	if c.threads > c.connections {
		return c, fmt.Errorf("parameter threads: %d threads for %d connections; wrk wants at least one connection per thread", c.threads, c.connections)
	}
	return c, nil
}

// Check implements workload.Workload: nginx on the host (so in the image
// built from it), wrk on the host or in the image, and a network link
// for a client on the host.
func (HTTP) Check(info driver.Info, p map[string]string) error {
	c, err := parseHTTP(p)
	if err != nil {
		return err
	}
	return needServer(info, c.client, "nginx", "wrk")
}

// TrialTimeout implements workload.TrialTimeouter.
func (HTTP) TrialTimeout(p map[string]string) time.Duration {
	c, err := parseHTTP(p)
	if err != nil {
		return 0
	}
	return c.ready + time.Duration(c.duration+c.warmup)*time.Second*2 + 10*time.Minute
}

// NginxConf is the configuration the http workload gives nginx, for a
// server run by hand beside it (scripts/fidelity): files under dir/www,
// connections the client opens, workers nginx runs, listen as nginx's
// listen directive takes it.
func NginxConf(dir string, connections, workers int, listen string) string {
	return nginxConf(dir, httpConfig{connections: int64(connections), workers: int64(workers)}, listen)
}

// nginxConf is the server's whole configuration: one server of static
// files, logs and temporary files in the trial's directory, no access
// log, keep-alive connections kept for the whole run.
func nginxConf(dir string, c httpConfig, listen string) string {
	return fmt.Sprintf(`user root root;
worker_processes %[1]d;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log notice;
events { worker_connections %[3]d; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000000;
	keepalive_timeout 600s;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	types { application/octet-stream bin; }
	default_type application/octet-stream;
	server {
		listen %[4]s;
		root %[2]s/www;
	}
}
`, c.workers, dir, c.connections+64, listen)
}

// Run implements workload.Workload: a fresh sandbox (with a network link
// when its driver has one), the files and nginx's configuration written
// in its scratch directory, nginx started and awaited, an unmeasured
// wrk run, the measured one, and nginx stopped.
func (w HTTP) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) (err error) {
	c, err := parseHTTP(t.Params)
	if err != nil {
		return err
	}
	sb, wrkHost, closeSB, err := openServerSandbox(ctx, t, rec, "http", c.client, "wrk", "it")
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeSB(); cerr != nil {
			err = cerr
		}
	}()
	dir := path.Join(sb.scratch, "nginx")
	size := httpFiles[c.file]
	for _, argv := range [][]string{
		{"mkdir", "-p", dir + "/www"},
		{"dd", "if=/dev/zero", "of=" + dir + "/www/1k.bin", "bs=1024", "count=1"},
		{"dd", "if=/dev/zero", "of=" + dir + "/www/100k.bin", "bs=1024", "count=100"},
	} {
		if _, err := sb.in.MustRun(ctx, agent.Request{Argv: argv, Timeout: time.Minute}); err != nil {
			return fmt.Errorf("http: preparing the files: %w", err)
		}
	}
	listen := "127.0.0.1:" + strconv.FormatInt(c.port, 10)
	if c.client == ClientHost {
		listen = strconv.FormatInt(c.port, 10)
	}
	conf := path.Join(dir, "nginx.conf")
	if err := writeFile(ctx, sb.in, conf, nginxConf(dir, c, listen)); err != nil {
		return fmt.Errorf("http: %w", err)
	}
	pin := planPinning(ctx, c.pin, t.Runtime, sb, c.client, rec)
	limit := c.ready + time.Duration(c.duration+c.warmup)*time.Second*2 + 5*time.Minute
	argv := append(pin.prefix(pin.server), "nginx", "-e", "stderr", "-p", dir, "-c", conf)
	srv := startServer(ctx, sb, "nginx", path.Join(dir, "error.log"), argv, limit)
	stopArgv := []string{"nginx", "-e", "stderr", "-p", dir, "-c", conf, "-s", "quit"}

	fileURL := "/" + c.file + ".bin"
	var url string
	var probe func(context.Context) error
	if c.client == ClientHost {
		url = "http://" + netip.AddrPortFrom(sb.link.SandboxAddr, uint16(c.port)).String() + fileURL
		probe = func(ctx context.Context) error { return httpGet(ctx, url, size) }
	} else {
		url = "http://" + listen + fileURL
		probe = func(ctx context.Context) error {
			_, err := sb.in.MustRun(ctx, agent.Request{Argv: []string{"wget", "-q", "-O", "/dev/null", url}, Timeout: 10 * time.Second})
			return err
		}
	}
	if err := srv.waitReady(ctx, c.ready, c.port, probe); err != nil {
		return fmt.Errorf("http: %w", errorsJoin(err, srv.stop(ctx, stopArgv, rec)))
	}
	pinHostThreads(sb, pin, rec)
	rec.Attr("http.url", url)
	out, err := load{name: "http", prog: "wrk", hostProg: wrkHost,
		args: func(secs int64) []string {
			return []string{"--latency", "-t", strconv.FormatInt(c.threads, 10), "-c", strconv.FormatInt(c.connections, 10),
				"-d", strconv.FormatInt(secs, 10) + "s", "--timeout", "10s", url}
		},
		limit:  func(secs int64) time.Duration { return time.Duration(secs)*time.Second*2 + 2*time.Minute },
		warmup: c.warmup, n: c.duration, warmupRaw: "wrk.warmup.txt", raw: "wrk.txt",
	}.measure(ctx, sb, pin, srv, stopArgv, rec)
	if err != nil {
		return err
	}
	return recordWrk(out, rec)
}

// recordWrk records the figures of a measured wrk report; a response
// that was not 2xx or 3xx fails the trial.
func recordWrk(out string, rec workload.Recorder) error {
	r, err := ParseWrk(out)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	if r.Non2xx > 0 {
		return fmt.Errorf("http: %d of %d responses were not 2xx or 3xx", r.Non2xx, r.Requests)
	}
	rec.Sample("requests_per_sec", r.RequestsPerSec)
	rec.Sample("latency_p50", r.Percentiles[50])
	rec.Sample("latency_p99", r.Percentiles[99])
	rec.Sample("transfer_per_sec", r.TransferPerSec)
	rec.Sample("latency_avg", r.LatencyAvg)
	rec.Sample("socket_errors", float64(r.ConnectErr+r.ReadErr+r.WriteErr+r.Timeout))
	// wrk prints latencies with two decimals in its unit: 1.26ms is
	// known to 10 µs.
	return nil
}

// httpGet fetches url from the host and checks that it is the file of
// size bytes.
func httpGet(ctx context.Context, url string, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	cl := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, size+1))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || n != size {
		return fmt.Errorf("GET %s: %s, %d bytes, want 200 OK and %d bytes", url, resp.Status, n, size)
	}
	return nil
}

// errorsJoin joins a failure with what stopping the server said.
func errorsJoin(err, stopErr error) error {
	if stopErr == nil {
		return err
	}
	return fmt.Errorf("%w (and %s)", err, strings.TrimPrefix(stopErr.Error(), "http: "))
}
