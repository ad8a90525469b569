#!/usr/bin/env bash
# Installs what isobench's tests need (as root, with apt-get) and runs them.
# The tests drive the real runtimes and tools; those that cannot run on a
# host skip with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
CGO_ENABLED=0 go build -o bin/ ./cmd/...
# --gvisor: the current runsc (built from its Go module, cached by the Go
# build cache) that the runsc driver and the engines' runsc prefer; the
# distribution's 2022 runsc gives docker:runsc no network.
bin/isobench setup --tests --gvisor
go vet ./...
go test -count=1 -timeout 75m ./...
# Every fuzz target for a short time (ISOBENCH_FUZZTIME per target, here
# 3s by default to keep CI within its time; ISOBENCH_FUZZTIME=0 skips them).
export ISOBENCH_FUZZTIME="${ISOBENCH_FUZZTIME:-3s}"
if [ "$ISOBENCH_FUZZTIME" != 0 ]; then
	scripts/fuzz.sh
fi
