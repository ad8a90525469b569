#!/usr/bin/env bash
# snapshot.sh DIR: records what check.sh compares before and after a test
# cluster's life: kernel settings (sysctls, less the counters that move on
# their own), mounts, network devices and namespaces, cgroups, packet
# filter rules, containerd shim sockets and loaded kernel modules.
set -euo pipefail
dir=$1
mkdir -p "$dir"
volatile='^(fs\.(aio-nr|dentry-state|file-nr|inode-nr|inode-state|quota\.)|kernel\.(ns_last_pid|random\.|pty\.nr|perf_event_max_sample_rate)|net\.netfilter\.nf_conntrack_count|net\.ipv[46]\.conf\.|net\.ipv6\.neigh\.|net\.ipv4\.neigh\.)'
sysctl -a 2>/dev/null | grep -Ev "$volatile" | sort >"$dir/sysctl"
awk '{print $5}' /proc/self/mountinfo | sort >"$dir/mounts"
ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort >"$dir/links"
ls /run/netns 2>/dev/null | sort >"$dir/netns" || true
find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d 2>/dev/null | sort >"$dir/cgroups"
{ iptables-save 2>/dev/null; ip6tables-save 2>/dev/null; } | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//' | sort >"$dir/iptables" || true
ls /run/containerd/s 2>/dev/null | sort >"$dir/shims" || true
{ awk '{print $1}' /proc/modules 2>/dev/null || true; } | sort >"$dir/modules"
for p in /var/lib/kubelet /var/lib/cni /var/log/containers; do [ -e "$p" ] && echo "$p"; done >"$dir/paths" || true
