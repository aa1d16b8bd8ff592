#!/usr/bin/env bash
# Times `.ci/run` as a fresh machine would run it: a clean clone of COMMIT (default HEAD)
# with every cache empty (rustup toolchains, the cargo registry and target, Go's module
# and build caches, pip's cache, the control-plane binaries, the componentize-py and
# test-server venvs). Kept: what a fresh machine of this kind has outside those caches
# (rustup itself, pyenv's Python, Go, the machine's Go and pip settings).
#
#   tests/ci-cold.sh [COMMIT] [WORKDIR]     # WORKDIR default /tmp/noetl-ci-cold (wiped)
#
# Prints `rc=... elapsed=...s` and leaves the log in WORKDIR/log. Its cluster uses ports
# of its own, so a test cluster already running on this machine can stay up.
set -u
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
commit="${1:-HEAD}"
work="${2:-/tmp/noetl-ci-cold}"
rm -rf "$work"
mkdir -p "$work/home/.config" "$work/home/.cargo"
git clone -q "$repo" "$work/repo"
git -C "$work/repo" checkout -q "$(git -C "$repo" rev-parse "$commit")"
for config in go pip; do
  [[ -d "$HOME/.config/$config" ]] && cp -r "$HOME/.config/$config" "$work/home/.config/"
done
# A fresh machine's ~/.cargo holds rustup and its proxies, and nothing else.
cp -a "${CARGO_HOME:-$HOME/.cargo}/bin" "$work/home/.cargo/"
export PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}"
export HOME="$work/home" CARGO_HOME="$work/home/.cargo" RUSTUP_HOME="$work/home/.rustup"
export RUSTUP_AUTO_INSTALL=0
export NOETL_CLUSTER_ETCD_PORT=42379 NOETL_CLUSTER_ETCD_PEER_PORT=42380
export NOETL_CLUSTER_APISERVER_PORT=46443 NOETL_CLUSTER_KWOK_PORT=40247
cd "$work/repo"
started=$(date +%s)
.ci/run > "$work/log" 2>&1
rc=$?
echo "rc=$rc elapsed=$(($(date +%s) - started))s commit=$(git rev-parse --short HEAD) log=$work/log"
exit "$rc"
