#!/usr/bin/env bash
# binsize.sh [LIMIT_MB]: builds isobench as the README says (CGO_ENABLED=0,
# not stripped), prints the binary's size and the ten modules with the
# largest symbols (code, read-only data and data; zero-filled data takes no
# room in the file and is left out), and exits 1 if the binary is larger
# than LIMIT_MB megabytes (10^6 bytes; 50 by default).
#
# The symbols do not add up to the file's size: the function table
# (pclntab) and the DWARF debug information grow with the code and are
# not counted per module.
#
# What is big, and why it stays (38.4 MB when this was last measured): the
# standard library and runtime (net/http, TLS and x509 for registries and
# clusters, the linker's tables); k8s.io/api, apimachinery and client-go
# (the kubernetes driver, with the core/v1, batch/v1 and node/v1 types
# only: internal/kube has a client of its own for them, the full clientset
# was 39 MB); modernc.org/sqlite (the results store, a SQLite in pure Go so
# that the binary needs no cgo). What went: gonum/plot and its 12 embedded
# fonts (the charts are SVG of the report's own, with the viewer's fonts),
# and html/template (the HTML page is written by the report's own escaping
# writer): text/template's exec calls reflect's MethodByName, and with that
# call reachable the linker keeps every exported method of every type,
# some 10 MB of the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
limit_mb=${1:-50}
[[ $limit_mb =~ ^[0-9]+$ ]] || { echo "binsize.sh: the limit must be a whole number of megabytes, not $limit_mb" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/isobench-binsize.XXXXXX")
trap 'rm -rf "$dir"' EXIT
bin=$dir/isobench
CGO_ENABLED=0 go build -o "$bin" ./cmd/isobench
size=$(wc -c <"$bin")

# The modules the binary holds, main module first; a symbol belongs to the
# module with the longest path that prefixes its package's.
go version -m "$bin" | awk '$1 == "mod" || $1 == "dep" { print $2 }' >"$dir/modules"
go tool nm -size "$bin" >"$dir/nm"
awk '
	FNR == NR { mods[$1] = 1; next }
	# Addresses as strings of one width, which compare as the numbers do
	# (nm prints lower-case hex without leading zeros).
	function hex(s) { return "x" sprintf("%16s", s) }
	# The zero-filled sections, bounded by the linker symbols that
	# name their ends.
	$4 == "runtime.bss" { bss = hex($1) } $4 == "runtime.ebss" { ebss = hex($1) }
	$4 == "runtime.noptrbss" { nbss = hex($1) } $4 == "runtime.enoptrbss" { enbss = hex($1) }
	{ addr[NR] = hex($1); sz[NR] = $2; name[NR] = $4 }
	END {
		for (i in name) {
			a = addr[i]
			if ((a >= bss && a < ebss) || (a >= nbss && a < enbss))
				continue
			n = name[i]
			sub(/^(type:|go:itab\.|go:string\.)/, "", n)
			sub(/^\*+/, "", n)
			sub(/[[(].*/, "", n)  # generic arguments, method receivers
			# The package: up to the first dot after the last slash.
			j = match(n, /\/[^\/]*$/)
			rest = j ? substr(n, j) : n
			k = index(rest, ".")
			pkg = k ? substr(n, 1, (j ? j - 1 : 0) + k - 1) : n
			m = "(standard library and runtime)"
			for (p = pkg; p != ""; ) {
				if (p in mods) { m = p; break }
				if (!sub(/\/[^\/]*$/, "", p)) break
			}
			total[m] += sz[i]
		}
		for (m in total) printf "%12d  %s\n", total[m], m
	}
' "$dir/modules" "$dir/nm" | sort -rn >"$dir/bymodule"

awk -v s="$size" -v l="$limit_mb" 'BEGIN { printf "isobench: %d bytes (%.1f MB), CGO_ENABLED=0, not stripped; limit %d MB\n", s, s / 1e6, l }'
echo "largest modules by symbol size (bytes):"
head -10 "$dir/bymodule"
if ((size > limit_mb * 1000000)); then
	echo "binsize.sh: the binary is larger than $limit_mb MB" >&2
	exit 1
fi
