// Command isobench measures what isolation costs. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/isobench/isobench/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	exe, _ := os.Executable()
	code := cli.Main(ctx, os.Args[1:], cli.Env{
		Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Executable: exe, Version: cli.BuildVersion(), UID: os.Geteuid(),
	})
	stop()
	os.Exit(code)
}
