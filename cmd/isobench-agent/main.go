// Command isobench-agent is the isobench agent: the program that runs inside
// every sandbox. See package internal/agent for its modes and protocol.
// Build it static: CGO_ENABLED=0 go build ./cmd/isobench-agent.
package main

import (
	"os"

	"github.com/isobench/isobench/internal/agent"
)

func main() {
	os.Exit(agent.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
