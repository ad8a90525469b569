// Command isobench measures what isolation costs. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/isobench/isobench/internal/cli"
)

func main() {
	ctx, hurry, stop := interrupts()
	exe, _ := os.Executable()
	code := cli.Main(ctx, os.Args[1:], cli.Env{
		Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Executable: exe, Version: cli.BuildVersion(), UID: os.Geteuid(),
		Hurry: hurry,
	})
	stop()
	os.Exit(code)
}

// interrupts turns SIGINT and SIGTERM into the two steps of stopping: the
// first ends ctx (isobench stops after removing what is in flight), the
// second closes hurry (it removes it without graceful stops). After the
// second, the signals get their default action back, so a third kills
// isobench at once; `isobench gc` then removes what it left.
func interrupts() (ctx context.Context, hurry <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	h := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			cancel(fmt.Errorf("%s received", sig))
		case <-done:
			return
		}
		select {
		case <-sigs:
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			close(h)
		case <-done:
		}
	}()
	return ctx, h, func() {
		close(done)
		signal.Stop(sigs)
		cancel(nil)
	}
}
