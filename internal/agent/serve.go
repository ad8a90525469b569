package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Main runs the agent with its arguments (without the program name) and
// returns the process exit status. Status 0 means every message was written;
// a command's own failure is reported in its Result, not in the status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: isobench-agent exec|batch|init|version|fsinfo|vm ...")
		return 2
	}
	var err error
	switch args[0] {
	case "exec":
		err = mainExec(args[1:], stdout)
	case "batch":
		err = mainBatch(stdin, stdout)
	case "init":
		err = mainInit(stdout)
	case "version":
		_, err = fmt.Fprintln(stdout, "isobench-agent protocol", Version)
	case "fsinfo":
		err = mainFSInfo(args[1:], stdout)
	case "vm":
		err = mainVM(stderr)
	case "syscalls":
		err = mainSyscalls(args[1:], stdout)
	case "pong":
		err = mainPong(args[1:], stdout)
	case "stream":
		err = mainStream(args[1:], stdout)
	default:
		err = fmt.Errorf("unknown mode %q (want exec, batch, init, version, fsinfo or vm)", args[0])
	}
	if err != nil {
		fmt.Fprintln(stderr, "isobench-agent:", err)
		return 2
	}
	return 0
}

type envList []string

func (e *envList) String() string     { return strings.Join(*e, ",") }
func (e *envList) Set(v string) error { *e = append(*e, v); return nil }

func mainExec(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	var req Request
	var env envList
	fs.StringVar(&req.Dir, "dir", "", "working directory")
	fs.Var(&env, "env", "KEY=VALUE to add to the environment (repeatable)")
	fs.DurationVar(&req.Timeout, "timeout", 0, "kill the command after this long")
	fs.IntVar(&req.OutputLimit, "output-limit", 0, "bytes of each output stream to keep")
	if err := fs.Parse(args); err != nil {
		return err
	}
	req.Env = env
	req.Argv = fs.Args()
	if len(req.Argv) == 0 {
		return errors.New("exec: no command given")
	}
	// Told to stop (the host's runtime forwards its SIGTERM), the agent
	// kills the command's whole process group before it goes, so nothing
	// it started outlives it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	return writeResult(stdout, Execute(ctx, req))
}

func mainBatch(stdin io.Reader, stdout io.Writer) error {
	var reqs []Request
	dec := json.NewDecoder(io.LimitReader(stdin, MaxLine))
	if err := dec.Decode(&reqs); err != nil {
		return fmt.Errorf("batch: reading requests from stdin: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	for _, req := range reqs {
		if err := writeResult(stdout, Execute(ctx, req)); err != nil {
			return err
		}
	}
	return nil
}

func writeResult(w io.Writer, res Result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing result: %w", err)
	}
	return nil
}

// limitedBuffer keeps the first limit bytes written and counts the rest.
type limitedBuffer struct {
	buf     bytes.Buffer
	limit   int
	dropped int64
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	room := l.limit - l.buf.Len()
	if room >= len(p) {
		return l.buf.Write(p)
	}
	if room > 0 {
		l.buf.Write(p[:room])
	}
	l.dropped += int64(len(p) - max(room, 0))
	return len(p), nil
}

// Execute runs one request and measures it. It never fails: a command that
// cannot run is a Result with Error set.
func Execute(ctx context.Context, req Request) Result {
	res := Result{Type: TypeResult, Argv: req.Argv, ExitCode: -1}
	if len(req.Argv) == 0 {
		res.Error = "empty command"
		return res
	}
	limit := req.OutputLimit
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, req.Argv[0], req.Argv[1:]...)
	cmd.Dir = req.Dir
	cmd.Env = append(os.Environ(), req.Env...)
	var so, se limitedBuffer
	so.limit, se.limit = limit, limit
	cmd.Stdout, cmd.Stderr = &so, &se
	// The command gets its own process group so a timeout kills all of it,
	// and dies with the agent should the agent be killed outright.
	// Pdeathsig follows the thread that started the command: this
	// goroutine keeps it until the command is reaped.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second

	start := time.Now()
	res.StartUnixNano = start.UnixNano()
	err := cmd.Start()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	err = cmd.Wait()
	res.WallNanos = time.Since(start).Nanoseconds()
	res.Stdout, res.Stderr = so.buf.String(), se.buf.String()
	res.StdoutDropped, res.StderrDropped = so.dropped, se.dropped
	if ps := cmd.ProcessState; ps != nil {
		res.UserNanos = ps.UserTime().Nanoseconds()
		res.SysNanos = ps.SystemTime().Nanoseconds()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSSBytes = ru.Maxrss * 1024
		}
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal().String()
		} else {
			res.ExitCode = ps.ExitCode()
		}
	}
	if ctx.Err() == context.DeadlineExceeded {
		res.TimedOut = true
		res.Error = fmt.Sprintf("timed out after %s", req.Timeout)
	} else if err != nil && res.Signal == "" && res.ExitCode <= 0 {
		res.Error = err.Error()
	}
	return res
}

func mainInit(stdout io.Writer) error {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	rd := Ready{Type: TypeReady, Version: Version, PID: os.Getpid(), UnixNano: time.Now().UnixNano()}
	rd.Hostname, _ = os.Hostname()
	var uts syscall.Utsname
	if syscall.Uname(&uts) == nil {
		rd.Kernel = utsString(uts.Release[:])
	}
	b, err := json.Marshal(rd)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing ready message: %w", err)
	}
	for sig := range sigs {
		switch sig {
		case syscall.SIGCHLD:
			reap()
		default:
			return nil
		}
	}
	return nil
}

// reap collects every exited child, so orphans re-parented to the agent (as
// the sandbox's first process) do not stay zombies.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

func utsString(f []int8) string {
	b := make([]byte, 0, len(f))
	for _, c := range f {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
