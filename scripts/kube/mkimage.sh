#!/usr/bin/env bash
# mkimage.sh ROOT REF ENTRYPOINT_JSON OUT: writes a one-layer docker-archive
# (the format of `docker save`, which `ctr images import` reads) of the
# directory ROOT, tagged REF, whose entrypoint is ENTRYPOINT_JSON.
set -euo pipefail
root=$1 ref=$2 entrypoint=$3 out=$4
w=$(mktemp -d "${TMPDIR:-/tmp}/isobench-mkimage.XXXXXX")
trap 'rm -rf "$w"' EXIT
tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$w/layer.tar" .
layer=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
mkdir "$w/$layer" && mv "$w/layer.tar" "$w/$layer/layer.tar"
printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"Env":["PATH=/"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
	"$entrypoint" "$layer" >"$w/config.json"
config=$(sha256sum "$w/config.json" | cut -d' ' -f1)
mv "$w/config.json" "$w/$config.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config" "$ref" "$layer" >"$w/manifest.json"
tar -C "$w" -cf "$out" manifest.json "$config.json" "$layer"
