#!/usr/bin/env bash
# A newcomer on a fresh machine: the README's main job ("Set-up: two
# commands") as written, but with a state directory, cache and results
# database of its own (nothing a former run left is reused), then
# `isobench doctor`. Fails when a runtime that doctor says works here is
# missing from the run's report, naming the run's reason for it, or when
# the main job itself fails. As root, from the repository root; needs jq
# (isobench setup --tests installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

command -v jq >/dev/null || { echo "newcomer: jq is needed (isobench setup --tests installs it)" >&2; exit 1; }

# Short: the private daemons' unix sockets live below it. Searchable by
# every user, as /var/lib is: Incus's unprivileged containers reach their
# root filesystems through it (mktemp makes it 0700).
top=$(mktemp -d "${TMPDIR:-/tmp}/isobench-nc.XXXXXX")
chmod 0711 "$top"
g=(--state-dir "$top/state" --cache-dir "$top/cache" --db "$top/results.db")
cleanup() {
	if grep -qF " $top/" /proc/mounts; then
		echo "newcomer: mounts are left below $top; not removing it" >&2
		grep -F " $top/" /proc/mounts >&2
		return
	fi
	rm -rf --one-file-system "$top"
}
trap cleanup EXIT

t0=$(date +%s)
secs() { echo $(( $(date +%s) - $1 )); }

# The README's main job, with the fresh directories (global flags before
# the subcommand).
CGO_ENABLED=0 go build -o bin/ ./cmd/...
t=$(date +%s)
bin/isobench "${g[@]}" setup
setup_s=$(secs "$t")
t=$(date +%s)
run_rc=0
bin/isobench "${g[@]}" run --report "$top/isobench-report.html" || run_rc=$?
run_s=$(secs "$t")
bin/isobench "${g[@]}" report latest --format json >"$top/report.json"

# Which runtimes work here, as doctor says: its JSON where it has one,
# else its table (a "yes" in the column after the runtime's name).
t=$(date +%s)
if bin/isobench "${g[@]}" doctor --json >"$top/doctor.json" 2>"$top/doctor.err"; then
	jq -r '.runtimes[] | select(.works) | .name' "$top/doctor.json" >"$top/works"
else
	rc=$?
	if [ "$rc" -ne 2 ]; then
		echo "newcomer: isobench doctor --json failed (exit $rc):" >&2
		cat "$top/doctor.err" >&2
		exit 1
	fi
	bin/isobench "${g[@]}" doctor >"$top/doctor.txt"
	awk '/^RUNTIME[ \t]/ { t = 1; next } t && NF == 0 { exit } t && $2 == "yes" { print $1 }' "$top/doctor.txt" >"$top/works"
fi
doctor_s=$(secs "$t")

# The default run takes every registered runtime, not their variants
# (runsc:ptrace, docker:runsc): those are doctor's only.
jq -r '.runtimes[].name' "$top/report.json" | sort -u >"$top/ran"
missing=0
while read -r rt; do
	case "$rt" in *:*) continue ;; esac
	if ! grep -qxF "$rt" "$top/ran"; then
		why=$(jq -r --arg rt "$rt" '[.skipped[]? | select(.runtime == $rt and ((.workload // "") == "")) | .reason] | join("; ")' "$top/report.json")
		echo "newcomer: doctor says $rt works here, but the main job's run has no $rt: ${why:-not in the run at all}" >&2
		missing=$((missing + 1))
	fi
done <"$top/works"

echo "newcomer: setup ${setup_s}s, run ${run_s}s (exit $run_rc), doctor ${doctor_s}s, in all $(secs "$t0")s"
echo "newcomer: ran: $(paste -sd' ' "$top/ran")"
echo "newcomer: doctor says these work: $(paste -sd' ' "$top/works")"
jq -r '.skipped[]? | select((.workload // "") == "") | "newcomer: skipped \(.runtime): \(.reason)"' "$top/report.json" | cut -c1-300
if [ "$missing" -gt 0 ]; then
	echo "newcomer: $missing runtime(s) that work here are missing from the main job's report" >&2
	exit 1
fi
if [ "$run_rc" -ne 0 ]; then
	echo "newcomer: the main job's run failed (exit $run_rc)" >&2
	exit 1
fi
