package apps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/agent"
	"github.com/isobench/isobench/internal/workload"
)

// ErrPortInUse is matched by the error of a server that could not listen
// because its port was taken where it runs: on the host itself when the
// sandbox has no network namespace of its own. It is reported, not
// retried on another port: the figures of a run are for the port asked.
var ErrPortInUse = errors.New("port already in use")

// server is a server program running in a sandbox, started through the
// agent, whose command returns when it exits.
type server struct {
	name string
	sb   *sandbox
	// log is the server's log file inside the sandbox.
	log    string
	done   chan serverExit
	cancel context.CancelFunc
	exited *serverExit
}

type serverExit struct {
	res agent.Result
	err error
}

// startServer runs argv in the sandbox in the background, for at most
// limit (the agent kills it then).
func startServer(ctx context.Context, sb *sandbox, name, log string, argv []string, limit time.Duration) *server {
	sctx, cancel := context.WithTimeout(ctx, limit+time.Minute)
	s := &server{name: name, sb: sb, log: log, done: make(chan serverExit, 1), cancel: cancel}
	go func() {
		res, err := sb.in.Run(sctx, agent.Request{Argv: argv, Dir: sb.scratch, Timeout: limit})
		s.done <- serverExit{res, err}
	}()
	return s
}

// finished returns how the server ended, or nil while it runs.
func (s *server) finished() *serverExit {
	if s.exited != nil {
		return s.exited
	}
	select {
	case e := <-s.done:
		s.exited = &e
	default:
	}
	return s.exited
}

// logText returns the server's log file and what it wrote, bounded.
func (s *server) logText(ctx context.Context) string {
	var parts []string
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if res, err := s.sb.in.Run(lctx, agent.Request{Argv: []string{"cat", s.log}, Timeout: 20 * time.Second, OutputLimit: 1 << 20}); err == nil && res.OK() {
		parts = append(parts, res.Stdout)
	}
	if e := s.exited; e != nil {
		if out := strings.TrimSpace(e.res.Stdout + "\n" + e.res.Stderr); out != "" {
			parts = append(parts, out)
		}
	}
	return strings.TrimSpace(strings.Join(parts, "\n"))
}

// failure describes a server that did not come up or did not stop, with
// the end of its log; a port taken where it runs matches ErrPortInUse.
func (s *server) failure(ctx context.Context, what string, port int64) error {
	log := s.logText(ctx)
	var why string
	if e := s.exited; e != nil {
		switch {
		case e.err != nil:
			why = ": " + e.err.Error()
		case e.res.Err() != nil:
			why = ": " + e.res.Err().Error()
		default:
			why = ": it exited"
		}
	}
	err := fmt.Errorf("%s %s%s; its log: %s", s.name, what, why, clip(log, 2000))
	if strings.Contains(log, "Address already in use") || strings.Contains(log, "address already in use") {
		err = fmt.Errorf("%w: port %d is taken where %s runs (the host's own, when the sandbox has no network namespace of its own); set another with port=: %w", ErrPortInUse, port, s.name, err)
	}
	return err
}

// waitReady polls probe until it succeeds, the server exits or limit
// passes; the last two fail with the server's log.
func (s *server) waitReady(ctx context.Context, limit time.Duration, port int64, probe func(context.Context) error) error {
	deadline := time.Now().Add(limit)
	delay := 20 * time.Millisecond
	var last error
	for {
		if s.finished() != nil {
			return s.failure(ctx, "ended before it served", port)
		}
		pctx, cancel := context.WithTimeout(ctx, min(10*time.Second, limit))
		last = probe(pctx)
		cancel()
		if last == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return s.failure(ctx, fmt.Sprintf("did not come up within %s (last probe: %v)", limit, last), port)
		}
		time.Sleep(delay)
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// stop asks the server to stop with argv in the sandbox, waits for it to
// end, and keeps its log as raw output. A server that will not stop is
// ended with its sandbox.
func (s *server) stop(ctx context.Context, argv []string, rec workload.Recorder) error {
	defer s.cancel()
	var stopErr error
	if s.finished() == nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		_, stopErr = s.sb.in.MustRun(sctx, agent.Request{Argv: argv, Timeout: 30 * time.Second})
		cancel()
		select {
		case e := <-s.done:
			s.exited = &e
		case <-time.After(30 * time.Second):
			s.cancel()
			e := <-s.done
			s.exited = &e
			stopErr = errors.Join(stopErr, fmt.Errorf("%s did not stop within 30 s", s.name))
		}
	}
	log := s.logText(ctx)
	rec.Raw(s.name+".log", log)
	if stopErr != nil {
		return fmt.Errorf("stopping %s: %w; its log: %s", s.name, stopErr, clip(log, 1000))
	}
	return nil
}

// load is the measuring half of a server workload's trial: its client
// program, run on the host or in the sandbox, an unmeasured warm-up run,
// the measured run, and the server stopped.
type load struct {
	// name is the workload's, which starts its errors.
	name string
	// prog is the client program in the sandbox; hostProg is its path on
	// the host, where it runs unless hostProg is "".
	prog, hostProg string
	// args and limit are the client's arguments and time limit for a run
	// of n (seconds or requests, as the client counts).
	args  func(n int64) []string
	limit func(n int64) time.Duration
	// warmup and n are the runs' sizes (warmup 0: no warm-up run);
	// warmupRaw and raw name their outputs kept as raw output.
	warmup, n      int64
	warmupRaw, raw string
}

// run runs the client once, pinned to the client's CPU, and keeps its
// standard output as raw output raw (and, in the sandbox, its standard
// error as raw.stderr).
func (l load) run(ctx context.Context, sb *sandbox, pin pinning, rec workload.Recorder, n int64, raw string) (string, error) {
	args, limit := l.args(n), l.limit(n)
	var out string
	var err error
	if l.hostProg != "" {
		out, err = hostRun(ctx, limit, pin.client, l.hostProg, args...)
	} else {
		var res agent.Result
		res, err = sb.in.MustRun(ctx, agent.Request{Argv: append(append(pin.prefix(pin.client), l.prog), args...), Timeout: limit})
		out = res.Stdout
		if res.Stderr != "" {
			rec.Raw(raw+".stderr", res.Stderr)
		}
	}
	rec.Raw(raw, out)
	return out, err
}

// measure makes the warm-up run and the measured one, then stops srv
// with stopArgv (also when a run fails), and returns the measured run's
// output.
func (l load) measure(ctx context.Context, sb *sandbox, pin pinning, srv *server, stopArgv []string, rec workload.Recorder) (string, error) {
	if l.warmup > 0 {
		if _, err := l.run(ctx, sb, pin, rec, l.warmup, l.warmupRaw); err != nil {
			return "", fmt.Errorf("%s: warming up: %w", l.name, errorsJoin(err, srv.stop(ctx, stopArgv, rec)))
		}
	}
	out, err := l.run(ctx, sb, pin, rec, l.n, l.raw)
	if err != nil {
		return "", fmt.Errorf("%s: %w", l.name, errorsJoin(err, srv.stop(ctx, stopArgv, rec)))
	}
	if err := srv.stop(ctx, stopArgv, rec); err != nil {
		return "", fmt.Errorf("%s: %w", l.name, err)
	}
	return out, nil
}
