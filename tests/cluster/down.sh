#!/usr/bin/env bash
# Stops the test cluster started by up.sh and removes its run state (etcd data,
# certificates, kubeconfig, logs). Idempotent: does nothing when nothing runs.
# Only the processes whose ids up.sh recorded are signalled.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

run="$(cluster_run_dir)"
[[ -d "$run" ]] || exit 0

# Reverse start order, so kwok and the controllers go before the apiserver and etcd.
for ((i = ${#cluster_components[@]} - 1; i >= 0; i--)); do
  c="${cluster_components[$i]}"
  component_alive "$c" || continue
  pid="$(cat "$run/pids/$c.pid")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
done
rm -rf "$run"
echo "down.sh: cluster stopped, $run removed" >&2
