#!/usr/bin/env bash
# check.sh: after down.sh, says whether the test cluster left anything on
# the host, comparing with the snapshot up.sh took: processes, mounts,
# network devices and namespaces, cgroups, packet filter rules, kernel
# settings, containerd shim sockets. Exits 1 if so. Kernel modules loaded
# since (the bridge's) are reported, not counted: they cannot be unloaded
# safely while other software may use them.
set -uo pipefail
source "$(dirname "$0")/env.sh"
before=$KUBE_DIR/before
after=$KUBE_DIR/after
[ -d "$before" ] || { echo "check.sh: no snapshot in $before (up.sh takes it)" >&2; exit 1; }
"$(dirname "$0")/snapshot.sh" "$after"
bad=0
report() { # what lines...
	local what=$1; shift
	[ -n "$*" ] || return 0
	echo "check.sh: left behind: $what:" >&2
	printf '  %s\n' "$@" >&2
	bad=1
}
added() { comm -13 "$before/$1" "$after/$1"; }
changed() { diff "$before/$1" "$after/$1" | grep '^[<>]'; }

mapfile -t procs < <(for p in /proc/[0-9]*; do
	mapfile -d '' args 2>/dev/null <"$p/cmdline" || continue
	[[ "${args[*]}" == *"$KUBE_DIR/"* ]] && echo "${p#/proc/}: ${args[*]}"
done)
report "processes" "${procs[@]}"
report "mounts" $(added mounts)
report "network devices" $(added links)
report "network namespaces" $(added netns)
report "cgroups" $(added cgroups | grep -E "/($KUBE_CGROUP|kubepods)(/|$)")
mapfile -t ipt < <(changed iptables)
report "packet filter rules (iptables-save)" "${ipt[@]}"
mapfile -t sys < <(changed sysctl)
report "kernel settings changed (sysctl)" "${sys[@]}"
report "containerd shim sockets" $(added shims)
[ -e "$KUBE_CLUSTER" ] && report "the cluster's directory" "$KUBE_CLUSTER"
report "directories" $(added paths)
mapfile -t logs < <(find /var/log/containers -maxdepth 1 -lname "$KUBE_CLUSTER/*" 2>/dev/null)
report "log links" "${logs[@]}"
mods=$(added modules | tr '\n' ' ')
[ -z "$mods" ] || echo "check.sh: note: kernel modules loaded since the cluster started (not unloaded): $mods"
if [ "$bad" = 0 ]; then
	echo "check.sh: nothing of the test cluster is left"
	rm -rf "$before" "$after"
fi
exit $bad
