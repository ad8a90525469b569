#!/usr/bin/env bash
# ci.sh: the Kubernetes part of CI, as root, after the main test run (which
# built bin/ and installed the test packages): builds gVisor and the
# cluster's binaries (cached by the Go build cache and in $KUBE_DIR/bin),
# starts the test cluster, runs the package's tests against it, runs a
# suite on it with `isobench run --on kubernetes` and reads it back with
# `isobench report`, then tears the cluster down and checks that nothing of
# it is left. Each step prints its time. Whatever fails, the teardown runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/kube/env.sh
isobench=$PWD/bin/isobench
[ -x "$isobench" ] || { echo "ci.sh: $isobench missing: build with CGO_ENABLED=0 go build -o bin/ ./cmd/..." >&2; exit 1; }

timed() { # name command...
	local name=$1 t0=${EPOCHREALTIME/./} rc=0
	shift
	"$@" || rc=$?
	local us=$((${EPOCHREALTIME/./} - t0))
	printf 'ci.sh: step %-10s %4d.%ds%s\n' "$name" $((us / 1000000)) $((us / 100000 % 10)) "$([ $rc = 0 ] || echo " FAILED ($rc)")" | tee -a "$timings"
	return $rc
}
timings=$(mktemp "${TMPDIR:-/tmp}/isobench-kube-ci.XXXXXX")
work=$(mktemp -d "${TMPDIR:-/tmp}/isobench-kube-ci-work.XXXXXX")
teardown() {
	local rc=$?
	trap - EXIT
	timed teardown scripts/kube/down.sh || rc=1
	timed leakcheck scripts/kube/check.sh || rc=1
	echo "ci.sh: timings:"
	sed 's/^ci.sh: step /  /' "$timings"
	rm -rf "$timings" "$work"
	exit $rc
}

step_gvisor() { "$isobench" setup --gvisor --cache-dir "$KUBE_DIR/cache"; }
step_build() { scripts/kube/build.sh; }
step_up() { scripts/kube/up.sh; }
step_tests() {
	ISOBENCH_KUBE=$KUBE_CLUSTER/admin.kubeconfig go test -count=1 -timeout 20m ./internal/kube/
}
step_run() {
	local kc=$KUBE_CLUSTER/admin.kubeconfig db=$work/results.db
	"$isobench" --db "$db" --cache-dir "$KUBE_DIR/cache" run --on kubernetes --kubeconfig "$kc" \
		--kube-containerd "$(cat "$KUBE_CLUSTER/containerd.address")" \
		--runtimes runc,runsc --workloads cpu,net --profile quick --json "$work/run.json"
	"$isobench" --db "$db" report latest
	# Both RuntimeClasses have measured trials, each with its node.
	for rt in runc runsc; do
		local n
		n=$(jq --arg rt "$rt" --arg node "$KUBE_NODE" '[.trials[] | select(.cell.runtime == $rt and .status == "ok"
			and (.warmup | not) and .attrs["runtime.node"] == $node and (.samples | length) > 0)] | length' "$work/run.json")
		[ "$n" -gt 0 ] || { echo "ci.sh: no measured trial of $rt with its node recorded in $work/run.json" >&2; return 1; }
		echo "ci.sh: $rt: $n measured trials stored, on node $KUBE_NODE"
		# The net workload reached the pod at its IP over the pod network.
		n=$(jq --arg rt "$rt" '[.trials[] | select(.cell.runtime == $rt and .cell.workload == "net" and .status == "ok"
			and (.warmup | not) and (.attrs["net.link"] // "" | startswith("cni ")) and (.samples | length) > 0)] | length' "$work/run.json")
		[ "$n" -gt 0 ] || { echo "ci.sh: no measured net trial of $rt over the pod network in $work/run.json" >&2; return 1; }
		echo "ci.sh: $rt: $n net trials over the pod network"
	done
	# Nothing of the run is left in the cluster.
	"$isobench" gc --on kubernetes --kubeconfig "$kc" | tee "$work/gc.txt"
	grep -q "nothing left behind" "$work/gc.txt"
}

trap teardown EXIT
timed gvisor step_gvisor
timed build step_build
timed up step_up
timed tests step_tests
timed run step_run
