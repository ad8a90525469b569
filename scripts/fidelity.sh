#!/usr/bin/env bash
# Measures isobench's fidelity and prints the figures the README quotes:
# (1) host baseline vs plain sysbench, (2) startup vs `runc run` invoked
# directly, (3) isobench's own CPU time, (4) the http workload on the host
# vs wrk run by hand against nginx. Run as root from anywhere; pass
# flags through, e.g. --pairs 20. It asserts nothing: it prints figures.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
CGO_ENABLED=0 go build -o bin/ ./cmd/...
go run ./scripts/fidelity "$@"
