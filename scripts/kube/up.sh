#!/usr/bin/env bash
# Starts a single-node Kubernetes test cluster on this machine, as root:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and a
# kubelet on a private containerd (the distribution's, with its own socket,
# root and state under $KUBE_CLUSTER), with two RuntimeClasses: runc, and
# runsc (gVisor's containerd shim, platform systrap). Pods get an isolated
# bridge with no gateway and no masquerade: no traffic leaves the machine.
# The node has the subnet's first address on the bridge (which host-local
# never hands a pod), so that it reaches its pods at their IPs, as a
# cluster's nodes do: isobench's net and server workloads need it.
#
# Needs: build.sh's binaries, `isobench setup --gvisor`, and the packages
# of `isobench setup --tests` (etcd-server, containerd, runc,
# containernetworking-plugins, iptables, openssl, curl).
# Writes the admin kubeconfig to $KUBE_CLUSTER/admin.kubeconfig and the
# containerd address to $KUBE_CLUSTER/containerd.address. down.sh stops it
# all and removes everything it made; a failed start runs down.sh itself.
set -euo pipefail
source "$(dirname "$0")/env.sh"
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "up.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ ! -e "$KUBE_CLUSTER" ] || die "$KUBE_CLUSTER exists: a test cluster runs, or one was not torn down (run down.sh)"
# The kubelet keeps pods (and device plugins, wherever its root is) in
# /var/lib/kubelet, where gVisor's shim looks for pod volumes: the test
# cluster owns it for its life, and down.sh removes it.
[ ! -e "$KUBELET_ROOT" ] || die "$KUBELET_ROOT exists: another kubelet's, or a test cluster's not torn down (down.sh removes only its own)"
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet; do
	[ -x "$KUBE_BIN/$b" ] || die "$KUBE_BIN/$b missing: run build.sh"
done
[ -s "$KUBE_DIR/images/pause.tar" ] || die "the pause image is missing: run build.sh"
for b in "$GVISOR_DIR/runsc" "$GVISOR_DIR/containerd-shim-runsc-v1"; do
	[ -x "$b" ] || die "$b missing: run isobench setup --gvisor"
done
for b in etcd containerd ctr runc openssl curl; do
	command -v "$b" >/dev/null || die "$b not installed (isobench setup --tests installs it)"
done
for p in bridge host-local loopback; do
	[ -x "/usr/lib/cni/$p" ] || die "CNI plugin $p missing (package containernetworking-plugins)"
done

C=$KUBE_CLUSTER
mkdir -p "$C"/{pki,containerd,cni/net.d,cni/ipam,kubelet,pod-logs,logs,pids}
mkdir "$KUBELET_ROOT" && touch "$C/kubelet-root.ours"
# Where the kubelet keeps log links and the CNI library its cache, made if
# missing: down.sh removes them again once empty.
for d in /var/log/containers /var/lib/cni; do [ -e "$d" ] || echo "$d"; done >"$C/made-dirs"
# Whatever fails from here on, nothing stays behind.
ready=0
on_exit() {
	[ "$ready" = 1 ] && return
	set +e
	echo "up.sh: failed; the ends of the logs (removed with the cluster):" >&2
	tail -n 8 "$C"/logs/*.log >&2
	"$here/down.sh" >&2
}
trap on_exit EXIT

# What the host was before, for down.sh (sysctls to restore) and check.sh.
"$here/snapshot.sh" "$KUBE_DIR/before"
for k in $KUBE_SYSCTLS; do sysctl -e "$k"; done >"$C/sysctl.saved" 2>/dev/null
step "saved the host's state"

# --- Certificates and credentials (valid for two days).
P=$C/pki
ssl() { openssl "$@" 2>/dev/null; }
ssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/ca.key" -out "$P/ca.crt" -days 2 -subj /CN=isobench-test-ca
sign() { # name subject [extfile]
	ssl req -newkey rsa:2048 -nodes -keyout "$P/$1.key" -out "$P/$1.csr" -subj "$2"
	ssl x509 -req -in "$P/$1.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -out "$P/$1.crt" -days 2 ${3:+-extfile "$3"}
}
printf 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n' >"$P/apiserver.ext"
sign apiserver /CN=kube-apiserver "$P/apiserver.ext"
sign apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client/O=system:masters"
ssl genrsa -out "$P/sa.key" 2048
ssl rsa -in "$P/sa.key" -pubout -out "$P/sa.pub"
admin_token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
kubelet_token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s,admin,admin,"system:masters"\n%s,system:node:%s,kubelet,"system:nodes"\n' \
	"$admin_token" "$kubelet_token" "$KUBE_NODE" >"$P/tokens.csv"
kubeconfig() { # file token
	cat >"$1" <<-EOF
	apiVersion: v1
	kind: Config
	clusters:
	- name: isobench-test
	  cluster: {server: "https://127.0.0.1:$KUBE_API_PORT", certificate-authority: "$P/ca.crt"}
	users:
	- name: user
	  user: {token: "$2"}
	contexts:
	- name: isobench-test
	  context: {cluster: isobench-test, user: user}
	current-context: isobench-test
	EOF
}
kubeconfig "$C/admin.kubeconfig" "$admin_token"
kubeconfig "$C/kubelet.kubeconfig" "$kubelet_token"
chmod 600 "$C"/*.kubeconfig "$P"/*.key
step "made certificates and credentials"

start() { # name command...: runs a daemon in the background, its pid in pids/
	local name=$1; shift
	setsid "$@" >"$C/logs/$name.log" 2>&1 </dev/null &
	echo $! >"$C/pids/$name"
}
wait_for() { # seconds what command...
	local t=$1 what=$2; shift 2
	for _ in $(seq $((t * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	die "timed out after ${t}s waiting for $what"
}

# --- containerd (CRI), with the runc and gVisor handlers.
D=$C/containerd
cat >"$D/config.toml" <<EOF
version = 2
root = "$D/root"
state = "$D/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$D/containerd.sock"
[ttrpc]
  address = "$D/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_REF"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # No CAP_SYS_RESOURCE on these machines: never lower an OOM score.
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$D/runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
      runtime_type = "io.containerd.runsc.v1"
      # gVisor's mount hints (a memory volume as the sandbox's own tmpfs).
      pod_annotations = ["dev.gvisor.*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc.options]
        TypeUrl = "io.containerd.runsc.v1.options"
        ConfigPath = "$D/runsc.toml"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$C/cni/net.d"
EOF
cat >"$D/runsc.toml" <<EOF
binary_name = "$GVISOR_DIR/runsc"
root = "$D/runsc"
[runsc_config]
  platform = "systrap"
EOF
# The pods' bridge, made here with the node's address on it (the bridge
# plugin takes a bridge that exists); pods get no route through it.
if ! ip link show "$KUBE_BRIDGE" >/dev/null 2>&1; then
	ip link add "$KUBE_BRIDGE" type bridge
fi
ip addr replace "${KUBE_POD_CIDR%.0/*}.1/${KUBE_POD_CIDR#*/}" dev "$KUBE_BRIDGE"
ip link set "$KUBE_BRIDGE" up
cat >"$C/cni/net.d/10-isobench.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "isobench-kube", "plugins": [
  {"type": "bridge", "bridge": "$KUBE_BRIDGE", "isGateway": false, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$KUBE_POD_CIDR"}]], "dataDir": "$C/cni/ipam"}},
  {"type": "loopback"}]}
EOF
echo "$D/containerd.sock" >"$C/containerd.address"
PATH="$GVISOR_DIR:$PATH" start containerd containerd --config "$D/config.toml"
wait_for 30 containerd ctr --address "$D/containerd.sock" version
ctr --address "$D/containerd.sock" --namespace k8s.io images import "$KUBE_DIR/images/pause.tar" >/dev/null
step "containerd runs; pause image loaded"

# --- etcd and the control plane.
start etcd etcd --name isobench-test --data-dir "$C/etcd" \
	--listen-client-urls "http://127.0.0.1:$KUBE_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$KUBE_ETCD_PORT" \
	--listen-peer-urls "http://127.0.0.1:$((KUBE_ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((KUBE_ETCD_PORT + 1))" \
	--initial-cluster "isobench-test=http://127.0.0.1:$((KUBE_ETCD_PORT + 1))"
wait_for 30 etcd curl -sf "http://127.0.0.1:$KUBE_ETCD_PORT/health"
start kube-apiserver "$KUBE_BIN/kube-apiserver" \
	--etcd-servers="http://127.0.0.1:$KUBE_ETCD_PORT" \
	--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$KUBE_API_PORT" \
	--tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
	--client-ca-file="$P/ca.crt" --token-auth-file="$P/tokens.csv" \
	--kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
	--kubelet-preferred-address-types=Hostname \
	--authorization-mode=Node,RBAC --service-cluster-ip-range=10.96.0.0/24 \
	--service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$P/sa.pub" \
	--service-account-signing-key-file="$P/sa.key" --endpoint-reconciler-type=none --profiling=false
api() { # method path [json body]
	curl -sf --cacert "$P/ca.crt" -H "Authorization: Bearer $admin_token" -H "Content-Type: application/json" \
		-X "$1" "https://127.0.0.1:$KUBE_API_PORT$2" ${3:+--data "$3"}
}
wait_for 120 "the API server" api GET /readyz
step "the API server is ready"
start kube-controller-manager "$KUBE_BIN/kube-controller-manager" \
	--kubeconfig="$C/admin.kubeconfig" --authentication-kubeconfig="$C/admin.kubeconfig" --authorization-kubeconfig="$C/admin.kubeconfig" \
	--leader-elect=false --bind-address=127.0.0.1 --secure-port=0 \
	--service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
	--controllers='*,-nodeipam,-service-lb-controller,-route,-cloud-node-lifecycle'
start kube-scheduler "$KUBE_BIN/kube-scheduler" \
	--kubeconfig="$C/admin.kubeconfig" --authentication-kubeconfig="$C/admin.kubeconfig" --authorization-kubeconfig="$C/admin.kubeconfig" \
	--leader-elect=false --bind-address=127.0.0.1 --secure-port=0

# --- The kubelet, its pods in cgroups under /isobench-kube.
for d in /sys/fs/cgroup/*/; do
	[ -e "${d}cgroup.procs" ] && [ "$d" != /sys/fs/cgroup/unified/ ] || continue
	mkdir -p "$d$KUBE_CGROUP"
	if [ -e "${d}cpuset.cpus" ]; then # a v1 cpuset starts empty
		cat "${d}cpuset.cpus" >"$d$KUBE_CGROUP/cpuset.cpus"
		cat "${d}cpuset.mems" >"$d$KUBE_CGROUP/cpuset.mems"
	fi
done
cat >"$C/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBE_KUBELET_PORT
healthzPort: 0
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: "$P/ca.crt"}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$D/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$KUBE_CGROUP
failSwapOn: false
failCgroupV1: false
makeIPTablesUtilChains: false
podLogsDir: $C/pod-logs
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"}
serializeImagePulls: false
EOF
PATH="$GVISOR_DIR:$PATH" start kubelet "$KUBE_BIN/kubelet" --config="$C/kubelet/config.yaml" \
	--kubeconfig="$C/kubelet.kubeconfig" --root-dir="$KUBELET_ROOT" --cert-dir="$C/kubelet/pki" \
	--hostname-override="$KUBE_NODE" --volume-plugin-dir="$C/kubelet/volume-plugins"
# (The API server indents JSON for curl: spaces and newlines go first.)
node_ready() { api GET "/api/v1/nodes/$KUBE_NODE" | tr -d ' \n' | grep -q '"type":"Ready","status":"True"'; }
wait_for 120 "node $KUBE_NODE to be Ready" node_ready
step "node $KUBE_NODE is Ready"

for rc in runc runsc; do
	api POST /apis/node.k8s.io/v1/runtimeclasses \
		"{\"apiVersion\":\"node.k8s.io/v1\",\"kind\":\"RuntimeClass\",\"metadata\":{\"name\":\"$rc\"},\"handler\":\"$rc\"}" >/dev/null
done
wait_for 60 "the default service account" api GET /api/v1/namespaces/default/serviceaccounts/default
ready=1
step "cluster ready: RuntimeClasses runc and runsc; kubeconfig $C/admin.kubeconfig"
