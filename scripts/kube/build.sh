#!/usr/bin/env bash
# Builds the test cluster's Kubernetes binaries (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet) from the k8s.io/kubernetes
# Go module at KUBE_VERSION, and the pause image from the C source in that
# module. The build happens in a generated build module that requires
# k8s.io/kubernetes and points its staging modules (v0.0.0 in its go.mod)
# at their published versions: no source is copied or changed. The Go build
# cache makes a rebuild cheap; binaries already built at KUBE_VERSION are kept.
#
# gVisor (runsc and its containerd shim) is built by `isobench setup --gvisor`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$KUBE_BIN" "$KUBE_DIR/build" "$KUBE_DIR/images"
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet)

built() { [ -x "$KUBE_BIN/$1" ] && "$KUBE_BIN/$1" --version 2>/dev/null | grep -qx "Kubernetes $KUBE_VERSION"; }
todo=()
for c in "${components[@]}"; do built "$c" || todo+=("$c"); done

if [ ${#todo[@]} -gt 0 ]; then
	src=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || { echo "build.sh: could not download k8s.io/kubernetes@$KUBE_VERSION" >&2; exit 1; }
	step "downloaded k8s.io/kubernetes@$KUBE_VERSION"
	b=$KUBE_DIR/build
	staging_version=v0.${KUBE_VERSION#v1.}
	cd "$b"
	rm -f go.mod go.sum
	go mod init isobench.test/kubebuild >/dev/null 2>&1
	go mod edit -go=1.24.0 -require="k8s.io/kubernetes@$KUBE_VERSION"
	# Every module the kubernetes go.mod replaces with a staging directory
	# gets its published version instead.
	sed -n '/^replace (/,/^)/p' "$src/go.mod" | awk '/=> \.\/staging/ {print $1}' | while read -r m; do
		go mod edit -replace="$m=$m@$staging_version"
	done
	cat > tools.go <<'GO'
//go:build tools

package kubebuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
	GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || GOFLAGS=-mod=mod go mod download
	step "resolved the build module"
	ld="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION"
	ld+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
	ld+=" -X k8s.io/component-base/version.gitTreeState=clean"
	for c in "${todo[@]}"; do
		CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod go build -trimpath -ldflags "$ld" -o "$KUBE_BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
		mv "$KUBE_BIN/$c.tmp" "$KUBE_BIN/$c"
		step "built $c"
	done
	for c in "${components[@]}"; do built "$c" || { echo "build.sh: $c does not report $KUBE_VERSION" >&2; exit 1; }; done
else
	step "kube binaries at $KUBE_VERSION already built"
fi

# The pause image: the pod sandbox's first process, built static from the
# module's pause.c, in a docker-archive tarball for `ctr images import`.
pause_tar=$KUBE_DIR/images/pause.tar
if [ ! -s "$pause_tar" ]; then
	src=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	w=$(mktemp -d "$KUBE_DIR/images/.pause.XXXXXX")
	trap 'rm -rf "$w"' EXIT
	mkdir "$w/root"
	gcc -Os -static -o "$w/root/pause" "$src/build/pause/linux/pause.c"
	"$here/mkimage.sh" "$w/root" "$PAUSE_REF" '["/pause"]' "$pause_tar.tmp"
	mv "$pause_tar.tmp" "$pause_tar"
	step "built the pause image"
fi
