#!/usr/bin/env bash
# Stops the test cluster up.sh started and removes everything it made: its
# processes (by their pid files, the cgroups of its pods, and their command
# lines naming the cluster's directory, one pid at a time), mounts, network
# namespaces and devices, containerd shim sockets, cgroups, and the
# directory; and puts back the kernel settings the kubelet changed. It is
# safe to run again, and after a start that failed half-way. check.sh then
# says whether anything is left.
set -uo pipefail
source "$(dirname "$0")/env.sh"

C=$KUBE_CLUSTER
D=$C/containerd
A=$D/containerd.sock
[ -d "$C" ] || { step "no test cluster at $C"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "down.sh: needs root" >&2; exit 1; }
problems=0
warn() { echo "down.sh: $*" >&2; problems=$((problems + 1)); }

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$C/pids/$1" 2>/dev/null; }
stop_daemon() { # name: SIGTERM, then SIGKILL after 15 s
	local pid
	pid=$(pid_of "$1")
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 75); do alive "$pid" || return 0; sleep 0.2; done
	kill -KILL "$pid" 2>/dev/null
	for _ in $(seq 25); do alive "$pid" || return 0; sleep 0.2; done
	warn "$1 (pid $pid) does not end"
}
ctr_() { ctr --address "$A" --namespace k8s.io "$@"; }

# 1. Through the API, while it runs: delete every Job and pod, and let the
# kubelet stop them (which also removes their network namespaces).
token=$(awk -F, '$2 == "admin" {print $1}' "$C/pki/tokens.csv" 2>/dev/null)
api() {
	curl -sf --max-time 10 --cacert "$C/pki/ca.crt" -H "Authorization: Bearer $token" \
		-X "$1" "https://127.0.0.1:$KUBE_API_PORT$2"
}
if [ -n "$token" ] && api GET /readyz >/dev/null 2>&1; then
	for ns in $(api GET /api/v1/namespaces | tr -d ' \n' | grep -o '"name":"[^"]*"' | sed 's/"name":"\(.*\)"/\1/' | sort -u); do
		api DELETE "/apis/batch/v1/namespaces/$ns/jobs?propagationPolicy=Background" >/dev/null 2>&1
		api DELETE "/api/v1/namespaces/$ns/pods?gracePeriodSeconds=0" >/dev/null 2>&1
	done
	if alive "$(pid_of kubelet)" && [ -S "$A" ]; then
		for _ in $(seq 150); do
			[ -z "$(ctr_ tasks list --quiet 2>/dev/null)" ] && break
			sleep 0.2
		done
	fi
	step "deleted the cluster's Jobs and pods"
fi

# 2. The control plane and the kubelet.
for d in kubelet kube-scheduler kube-controller-manager kube-apiserver; do stop_daemon "$d"; done
step "stopped the kubelet and the control plane"

# 3. What containerd still holds: note each container's network namespace
# and shim socket, then kill and delete its task and the container.
netns=()
sockets=()
if alive "$(pid_of containerd)" && [ -S "$A" ]; then
	for id in $(ctr_ containers list --quiet 2>/dev/null); do
		for n in $(ctr_ containers info "$id" 2>/dev/null | grep -o '/netns/cni-[0-9a-f-]*' | sort -u); do
			netns+=("/run$n" "/var/run$n")
		done
		# containerd names a shim's socket by the digest of its address,
		# namespace and id (runtime/v2/shim SocketAddress).
		sockets+=("/run/containerd/s/$(printf '%s' "$A/k8s.io/$id" | sha256sum | cut -d' ' -f1)")
		ctr_ tasks kill --signal SIGKILL "$id" >/dev/null 2>&1
	done
	for id in $(ctr_ tasks list --quiet 2>/dev/null); do
		for _ in $(seq 25); do ctr_ tasks delete "$id" >/dev/null 2>&1 && break; sleep 0.2; done
	done
	for id in $(ctr_ containers list --quiet 2>/dev/null); do ctr_ containers delete "$id" >/dev/null 2>&1; done
fi
stop_daemon containerd
stop_daemon etcd
step "stopped containerd and etcd"

# 4. Any process left of the cluster: those in its pods' cgroups, and those
# whose command line names its directory (shims, gVisor sandboxes). One pid
# at a time, never by name.
left_pids() {
	cat /sys/fs/cgroup/*/"$KUBE_CGROUP"/cgroup.procs /sys/fs/cgroup/*/"$KUBE_CGROUP"/**/cgroup.procs 2>/dev/null
	local p args
	for p in /proc/[0-9]*; do
		# Read with builtins only: no helper process names the directory.
		mapfile -d '' args 2>/dev/null <"$p/cmdline" || continue
		[[ "${args[*]}" == *"$KUBE_DIR/"* ]] && echo "${p#/proc/}"
	done
}
shopt -s globstar nullglob
for _ in $(seq 10); do
	pids=$(left_pids | grep -vx "$$" | sort -u)
	[ -z "$pids" ] && break
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	sleep 0.5
done
pids=$(left_pids | grep -vx "$$" | sort -u)
[ -z "$pids" ] || warn "processes that do not end: $pids"

# 5. Mounts under the cluster's directory (deepest first), and the network
# namespaces of its pods; then the namespaces' files and shim sockets.
ours_root=
[ -e "$C/kubelet-root.ours" ] && ours_root=$KUBELET_ROOT/
# (The kubelet bind-mounts its root onto itself.)
under() { awk -v c="$C/" -v k="${ours_root:-/nonexistent/}" 'index($5, c) == 1 || index($5 "/", k) == 1 {print $5}' /proc/self/mountinfo; }
for _ in 1 2 3; do
	mounts=$(under | sort -r)
	for n in "${netns[@]}"; do grep -q " $n " /proc/self/mountinfo && mounts+=$'\n'"$n"; done
	[ -z "$(echo "$mounts" | tr -d '\n')" ] && break
	for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
done
# A shim's socket is named by the digest of containerd's address, the
# namespace and the sandbox's (or container's) id (containerd's runtime/v2
# shim SocketAddress). gVisor's shim leaves its socket behind when it ends:
# every id containerd's log says it made gets its socket removed, unless a
# live shim still listens on it.
for id in $(grep -o 'returns \(sandbox\|container\) id \\"[0-9a-f]\{64\}' "$C/logs/containerd.log" 2>/dev/null | grep -o '[0-9a-f]\{64\}' | sort -u); do
	sockets+=("/run/containerd/s/$(printf '%s' "$A/k8s.io/$id" | sha256sum | cut -d' ' -f1)")
done
for n in "${sockets[@]}"; do
	[ -S "$n" ] && ! grep -q " $n\$" /proc/net/unix && rm -f "$n"
done
for n in "${netns[@]}"; do [ -e "$n" ] && rm -f "$n"; done
left=$(under)
[ -z "$left" ] || warn "mounts that do not go: $left"

# 6. Cgroups, deepest first; the bridge; log links the kubelet made.
for root in /sys/fs/cgroup/*/"$KUBE_CGROUP"; do
	find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
	[ -d "$root" ] && warn "cgroup $root does not go"
done
ip link show "$KUBE_BRIDGE" >/dev/null 2>&1 && ip link delete "$KUBE_BRIDGE"
for l in /var/log/containers/*.log; do
	case "$(readlink "$l")" in "$C"/*) rm -f "$l" ;; esac
done

# 7. The kernel settings the kubelet set at its start.
if [ -s "$C/sysctl.saved" ]; then
	while IFS= read -r line; do
		sysctl -q -w "$(echo "$line" | sed 's/ = /=/')" >/dev/null || warn "cannot restore $line"
	done <"$C/sysctl.saved"
fi

# 8. The kubelet's root (when up.sh made it) and the cluster's directory,
# unless something is still mounted in them.
if [ -z "$(under)" ]; then
	[ -n "$ours_root" ] && rm -rf --one-file-system "$KUBELET_ROOT"
	# Directories the kubelet and the CNI library made where none was
	# (up.sh listed them), once empty.
	while IFS= read -r d; do
		[ -d "$d" ] && find "$d" -depth -type d -empty -delete
		[ -e "$d" ] && warn "$d is not empty; left in place"
	done <"$C/made-dirs" 2>/dev/null
	rm -rf --one-file-system "$C"
else
	warn "left $C and $KUBELET_ROOT in place: mounts remain in them"
fi
if [ "$problems" = 0 ]; then
	step "test cluster removed"
else
	step "test cluster removed, with $problems problems (above)"
	exit 1
fi
