#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok, kwokctl) from the Go module proxy into a cache outside the
# repo. Idempotent: a binary that already exists is not rebuilt.
#
#   NOETL_CLUSTER_CACHE   cache root (default ~/.cache/noetl-host/cluster)
#
# Versions come from the committed go.mod files in tools/ (one source of truth).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

started=$SECONDS
bin="$(cluster_bin_dir)"
mkdir -p "$bin"

# go build wants -mod=readonly semantics against the committed go.sum; drop any
# GOFLAGS from the environment that could change that, but keep VCS stamping off
# (the module is built from the module cache, not a checkout).
export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0

# go build's output dir of the build in progress; removed even when the build fails.
out=""
trap '[[ -z $out ]] || rm -rf "$out"' EXIT

# Builds each listed "name=package" whose binary is missing, in one `go build`
# per module so shared packages compile once.
build_missing() {
  local module_dir=$1 ldflags=$2; shift 2
  local pkgs=() names=() entry
  for entry in "$@"; do
    if [[ ! -x "$bin/${entry%%=*}" ]]; then
      names+=("${entry%%=*}"); pkgs+=("${entry#*=}")
    fi
  done
  [[ ${#pkgs[@]} -eq 0 ]] && return 0
  echo "building ${names[*]} (module $module_dir) ..." >&2
  out="$(mktemp -d "$bin/.build.XXXXXX")"
  (cd "$module_dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out/" "${pkgs[@]}")
  # go build names each binary after the last path element of its package, a
  # major-version suffix (/v3) skipped.
  local i
  for i in "${!pkgs[@]}"; do
    mv "$out/$(basename "${pkgs[$i]%/v[0-9]*}")" "$bin/${names[$i]}"
  done
  rmdir "$out"; out=""
}

k8s="$(k8s_version)"
cv=k8s.io/component-base/version
k8s_ldflags="-X $cv.gitVersion=$k8s -X $cv.gitMajor=$(cut -d. -f1 <<<"${k8s#v}") \
-X $cv.gitMinor=$(cut -d. -f2 <<<"$k8s") -X $cv.gitTreeState=clean"
# etcd's main package is the module root go.etcd.io/etcd/server/v3 (binary "server").
build_missing "$here/tools" "$k8s_ldflags" \
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
  kubectl=k8s.io/kubernetes/cmd/kubectl \
  etcd=go.etcd.io/etcd/server/v3

build_missing "$here/tools/kwok" "" \
  kwok=sigs.k8s.io/kwok/cmd/kwok \
  kwokctl=sigs.k8s.io/kwok/cmd/kwokctl

echo "cluster binaries ready in $bin ($((SECONDS - started))s)"
