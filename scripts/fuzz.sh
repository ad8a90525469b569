#!/usr/bin/env bash
# Runs every fuzz target of isobench (each `func FuzzX` of a _test.go file)
# for a short time: the parsers of outside text (tool reports, agent
# messages, state files, kernel and ELF files), the suite file loader and
# the image layer unpacker. Inputs that make a target fail are written to
# that package's testdata/fuzz/FuzzX/ by go test; commit them with the fix.
#
#   scripts/fuzz.sh               each target for ISOBENCH_FUZZTIME (default 10s)
#   ISOBENCH_FUZZTIME=30s scripts/fuzz.sh ./internal/plan
#
# It prints one line per target and a closing "N passed, N failed" line,
# and exits non-zero when a target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
fuzztime="${ISOBENCH_FUZZTIME:-10s}"
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)
passed=0
failed=0
start=$(date +%s)
# go test -list prints the matching names, then "ok <package> <time>".
while read -r pkg targets; do
	for target in $targets; do
		if [ "$target" = BUILD-FAILED ]; then
			failed=$((failed + 1))
			echo "fuzz FAIL $pkg: does not build"
			continue
		fi
		t0=$(date +%s)
		run() { go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$pkg" 2>&1; }
		out=$(run)
		status=$?
		if [ $status -ne 0 ] && ! grep -q 'Failing input written\|failure while testing seed corpus' <<<"$out"; then
			# The fuzzing engine itself stumbled (a worker lost on a loaded
			# machine) without a failing input to show: once more.
			echo "fuzz retry $pkg $target: failed without a failing input"
			out=$(run)
			status=$?
		fi
		if [ $status -eq 0 ]; then
			passed=$((passed + 1))
			echo "fuzz ok   $pkg $target ($(($(date +%s) - t0))s)"
		else
			failed=$((failed + 1))
			echo "fuzz FAIL $pkg $target"
			echo "$out" | tail -40
		fi
	done
done < <(go test -list '^Fuzz' "${pkgs[@]}" 2>&1 | awk '
	/^Fuzz/ { names = names " " $1; next }
	/^ok / { if (names != "") print $2 names; names = "" }
	/^FAIL\t/ { print $2 " BUILD-FAILED"; names = "" }')
echo "fuzzing took $(($(date +%s) - start))s"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
