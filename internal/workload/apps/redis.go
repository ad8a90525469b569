package apps

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

// Redis is the redis workload: redis-server in the sandbox, loaded with
// redis-benchmark's GET and SET.
type Redis struct{}

var (
	_ workload.Workload       = Redis{}
	_ workload.SandboxMaker   = Redis{}
	_ workload.TrialTimeouter = Redis{}
)

// Name implements workload.Workload.
func (Redis) Name() string { return "redis" }

// Doc implements workload.Workload.
func (Redis) Doc() string {
	return "redis-server in the sandbox, loaded with redis-benchmark's SET and GET from the host (or, client=inside, from the sandbox's own loopback): ops/s and latency p50/p99 of each"
}

// MakesSandboxes implements workload.SandboxMaker.
func (Redis) MakesSandboxes() bool { return true }

// Params implements workload.Workload.
func (Redis) Params() []workload.Param {
	return []workload.Param{
		{Name: "client", Default: ClientHost, Doc: "where redis-benchmark runs: host (over the sandbox's network link) or inside (in the sandbox, against its own loopback)"},
		{Name: "requests", Default: "200000", Doc: "requests of each test, SET then GET (-n)", Profiles: map[string]string{"quick": "20000"}},
		{Name: "clients", Default: "50", Doc: "parallel connections (-c)"},
		{Name: "pipeline", Default: "1", Doc: "requests pipelined on a connection (-P)"},
		{Name: "value-size", Default: "64", Doc: "bytes of each SET's value (-d)"},
		{Name: "keyspace", Default: "100000", Doc: "keys the requests are spread over (-r)"},
		{Name: "warmup", Default: "20000", Doc: "requests of an unmeasured SET and GET run that warms the server first (0: none)", Profiles: map[string]string{"quick": "5000"}},
		{Name: "port", Default: "6379", Doc: "the port redis-server listens on in the sandbox"},
		{Name: "pin", Default: "auto", Doc: "auto: on a host with two CPUs or more, the client on the first and the server on the second where the runtime allows (recorded in pin.*); off: no pinning"},
		{Name: "ready-timeout", Default: "60", Doc: "seconds redis-server has to answer before the trial fails"},
	}
}

// Metrics implements workload.Workload.
func (Redis) Metrics() []workload.Metric {
	return []workload.Metric{
		{Name: "get_ops", Unit: workload.UnitOpsPerSec, Label: "GET ops/s", HigherIsBetter: true, Headline: true},
		{Name: "set_ops", Unit: workload.UnitOpsPerSec, Label: "SET ops/s", HigherIsBetter: true, Headline: true},
		{Name: "get_p50", Unit: workload.UnitSeconds, Label: "GET latency p50", Headline: true},
		{Name: "get_p99", Unit: workload.UnitSeconds, Label: "GET latency p99", Headline: true},
		{Name: "set_p50", Unit: workload.UnitSeconds, Label: "SET latency p50"},
		{Name: "set_p99", Unit: workload.UnitSeconds, Label: "SET latency p99"},
	}
}

type redisConfig struct {
	client, pin                                                    string
	requests, clients, pipeline, valueSize, keyspace, warmup, port int64
	ready                                                          time.Duration
}

func parseRedis(p map[string]string) (redisConfig, error) {
	var c redisConfig
	var err error
	if c.client, err = choice(p, "client", ClientHost, ClientInside); err != nil {
		return c, err
	}
	if c.pin, err = choice(p, "pin", "auto", "off"); err != nil {
		return c, err
	}
	v, err := ints(p,
		intRange{"requests", 1, 100_000_000},
		intRange{"clients", 1, maxConnections},
		intRange{"pipeline", 1, 10_000},
		intRange{"value-size", 1, 1 << 20},
		intRange{"keyspace", 1, 100_000_000},
		intRange{"warmup", 0, 100_000_000},
		intRange{"port", 1, 65535},
		intRange{"ready-timeout", 1, maxReadyTimeout})
	if err != nil {
		return c, err
	}
	c.requests, c.clients, c.pipeline, c.valueSize = v["requests"], v["clients"], v["pipeline"], v["value-size"]
	c.keyspace, c.warmup, c.port, c.ready = v["keyspace"], v["warmup"], v["port"], time.Duration(v["ready-timeout"])*time.Second
	// What the server holds at most: every key of the keyspace with a
	// value of value-size.
	if c.keyspace*c.valueSize > 16<<30 {
		return c, fmt.Errorf("parameters keyspace and value-size: %d keys of %d bytes would fill more than 16 GiB", c.keyspace, c.valueSize)
	}
	return c, nil
}

// Check implements workload.Workload.
func (Redis) Check(info driver.Info, p map[string]string) error {
	c, err := parseRedis(p)
	if err != nil {
		return err
	}
	return needServer(info, c.client, "redis-server", "redis-benchmark", "redis-cli")
}

// benchLimit bounds one redis-benchmark run of n requests: a generous
// floor of 10 µs per request over the slowest isolation.
func benchLimit(n int64) time.Duration {
	return time.Duration(n)*10*time.Microsecond*10 + 3*time.Minute
}

// TrialTimeout implements workload.TrialTimeouter.
func (Redis) TrialTimeout(p map[string]string) time.Duration {
	c, err := parseRedis(p)
	if err != nil {
		return 0
	}
	return c.ready + benchLimit(2*c.requests) + benchLimit(2*c.warmup) + 10*time.Minute
}

// Run implements workload.Workload: a fresh sandbox, redis-server in it
// (no persistence, its log in the scratch directory), awaited with PING,
// an unmeasured SET and GET run, the measured one, and SHUTDOWN NOSAVE.
func (Redis) Run(ctx context.Context, t *workload.Target, rec workload.Recorder) (err error) {
	c, err := parseRedis(t.Params)
	if err != nil {
		return err
	}
	sb, benchHost, closeSB, err := openServerSandbox(ctx, t, rec, "redis", c.client, "redis-benchmark", "redis-tools")
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeSB(); cerr != nil {
			err = cerr
		}
	}()
	dir := path.Join(sb.scratch, "redis")
	if _, err := sb.in.MustRun(ctx, agent.Request{Argv: []string{"mkdir", "-p", dir}, Timeout: time.Minute}); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	bind, addr := "127.0.0.1", "127.0.0.1"
	if c.client == ClientHost {
		bind, addr = "0.0.0.0", sb.link.SandboxAddr.String()
	}
	port := strconv.FormatInt(c.port, 10)
	pin := planPinning(ctx, c.pin, t.Runtime, sb, c.client, rec)
	log := path.Join(dir, "redis.log")
	argv := append(pin.prefix(pin.server), "redis-server", "--port", port, "--bind", bind, "--protected-mode", "no",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir, "--logfile", log)
	limit := c.ready + benchLimit(2*c.requests) + benchLimit(2*c.warmup) + 5*time.Minute
	srv := startServer(ctx, sb, "redis-server", log, argv, limit)
	stopArgv := []string{"redis-cli", "-h", "127.0.0.1", "-p", port, "shutdown", "nosave"}
	var probe func(context.Context) error
	if c.client == ClientHost {
		target := netip.AddrPortFrom(sb.link.SandboxAddr, uint16(c.port))
		probe = func(ctx context.Context) error { return redisPing(ctx, target.String()) }
	} else {
		probe = func(ctx context.Context) error {
			res, err := sb.in.MustRun(ctx, agent.Request{Argv: []string{"redis-cli", "-h", addr, "-p", port, "ping"}, Timeout: 10 * time.Second})
			if err == nil && strings.TrimSpace(res.Stdout) != "PONG" {
				err = fmt.Errorf("redis-cli ping said %q", clip(res.Stdout, 100))
			}
			return err
		}
	}
	if err := srv.waitReady(ctx, c.ready, c.port, probe); err != nil {
		return fmt.Errorf("redis: %w", errorsJoin(err, srv.stop(ctx, stopArgv, rec)))
	}
	pinHostThreads(sb, pin, rec)
	out, err := load{name: "redis", prog: "redis-benchmark", hostProg: benchHost,
		args: func(n int64) []string {
			return []string{"-h", addr, "-p", port, "-t", "set,get", "-n", strconv.FormatInt(n, 10),
				"-c", strconv.FormatInt(c.clients, 10), "-P", strconv.FormatInt(c.pipeline, 10),
				"-d", strconv.FormatInt(c.valueSize, 10), "-r", strconv.FormatInt(c.keyspace, 10), "--csv"}
		},
		limit:  func(n int64) time.Duration { return benchLimit(2 * n) },
		warmup: c.warmup, n: c.requests, warmupRaw: "redis-benchmark.warmup.csv", raw: "redis-benchmark.csv",
	}.measure(ctx, sb, pin, srv, stopArgv, rec)
	if err != nil {
		return err
	}
	return recordRedis(out, rec)
}

// recordRedis records the SET and GET figures of a measured report.
func recordRedis(out string, rec workload.Recorder) error {
	tests, err := ParseRedisCSV(out)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	set, okSet := tests["SET"]
	get, okGet := tests["GET"]
	if !okSet || !okGet {
		return fmt.Errorf("redis: the report lacks the SET or GET test")
	}
	rec.Sample("get_ops", get.OpsPerSec)
	rec.Sample("set_ops", set.OpsPerSec)
	rec.Sample("get_p50", get.P50)
	rec.Sample("get_p99", get.P99)
	rec.Sample("set_p50", set.P50)
	rec.Sample("set_p99", set.P99)
	return nil
}

// redisPing sends PING to the server at addr and wants +PONG.
func redisPing(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReaderSize(conn, 256).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", clip(line, 100))
	}
	return nil
}
