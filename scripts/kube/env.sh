# Shared settings of the test cluster scripts (sourced, not run).
#
# ISOBENCH_KUBE_DIR holds everything: bin/ (built binaries, kept between
# runs), build/ (the Go build module), images/ (image tarballs) and
# cluster/ (the running cluster's state, removed by down.sh).
KUBE_VERSION=v1.34.4      # 1.35 refuses cgroup v1 hosts and containerd 1.x
KUBE_DIR=${ISOBENCH_KUBE_DIR:-/var/tmp/isobench-kube}
KUBE_BIN=$KUBE_DIR/bin
KUBE_CLUSTER=$KUBE_DIR/cluster
# The pause image the kubelet's container runtime uses for pod sandboxes.
PAUSE_REF=registry.k8s.io/pause:3.10
# The node's name (the kubelet's --hostname-override), which is also the
# address the API server reaches the kubelet at: "localhost", so that it
# resolves to the loopback address the kubelet listens on, on any host (the
# kubelet refuses a loopback --node-ip). And the cgroup (in every
# hierarchy) that holds its pods.
KUBE_NODE=localhost
KUBE_CGROUP=isobench-kube
# Ports on 127.0.0.1, away from the defaults of a real cluster's.
KUBE_API_PORT=16443
KUBE_ETCD_PORT=12379 # and the next for etcd's peers
KUBE_KUBELET_PORT=20250
# The kubelet's root directory (see up.sh).
KUBELET_ROOT=/var/lib/kubelet
# The bridge of the pods' network: isolated, no gateway, no masquerade.
KUBE_BRIDGE=isobench-kube0
KUBE_POD_CIDR=10.254.0.0/24
# The sysctls the kubelet sets at start; up.sh saves them, down.sh restores.
KUBE_SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes"
# gVisor, built by `isobench setup --gvisor`.
GVISOR_DIR=${ISOBENCH_GVISOR_DIR:-/usr/local/lib/isobench/gvisor}

export PATH="$PATH:/usr/local/go/bin"
# step prints a line with the seconds since the script started.
T0=${T0:-${EPOCHREALTIME/./}}
step() {
	local us=$((${EPOCHREALTIME/./} - T0))
	printf '[%4d.%ds] %s\n' $((us / 1000000)) $((us / 100000 % 10)) "$*"
}
