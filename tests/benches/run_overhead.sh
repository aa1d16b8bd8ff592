#!/usr/bin/env bash
# Host overhead (issue 7): `noetl-host run` of spec example 01 on the local backend versus
# the same script run by bare `python3 script.py '<args>'`, both with warm caches.
#
#   cargo build --release --locked --workspace --bins && tests/benches/run_overhead.sh
#
# Prints hyperfine's table (mean ± σ, min/max) and the medians, with the steps of a
# breakdown of the run's overhead; the markdown table is written to $OUT (default:
# run_overhead.md in the current dir).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
host=${NOETL_HOST:-${CARGO_TARGET_DIR:-$root/target}/release/noetl-host}
playbook=$root/examples/playbooks/01-basic-python.yaml
out=${OUT:-run_overhead.md}
command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install -y hyperfine" >&2; exit 1; }
[ -x "$host" ] || { echo "$host is missing: cargo build --release --locked --workspace --bins" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The playbook's inline script, as written (the block under `content: |`, dedented).
awk '/content: \|/ {on=1; next} on && /^      args:/ {exit} on {sub(/^          /, ""); print}' "$playbook" > "$work/script.py"
args='{"items": [1, 2, 3, 4, 5]}'
# The interpreter itself, not a version-manager shim (pyenv's is a shell script): the same
# binary the local backend resolves for `python:3.11-slim`.
python=$(python3 -c 'import sys; print(sys.executable)')
"$python" "$work/script.py" "$args" | grep -q '"count": 5' || { echo "extracting the script from $playbook failed" >&2; exit 1; }

# -N: no intermediate shell, so neither side pays for one. The warmup runs fill the
# artifact cache (compiled plugins) and the page cache. The first three commands break the
# run's overhead down: process start and argument parsing; policy and loading every
# built-in plugin (cached artifacts, `describe`), which `plugins list` does; reading the
# playbook, loading only the built-ins it names plus the template engine, and checking it
# (structure, templates, each tool config through its plugin), which `run` does first. The
# run adds to that the secret providers, the local backend and its runtime probe (cached),
# rendering, `plan`, the sandbox, the script and `finish`.
hyperfine -N --warmup 3 --runs 30 --export-markdown "$out" --export-json "$work/runs.json" \
  --command-name "noetl-host --version" "$host --version" \
  --command-name "noetl-host plugins list" "$host plugins list" \
  --command-name "noetl-host run --dry-run 01-basic-python.yaml" "$host run $playbook --dry-run" \
  --command-name "noetl-host run 01-basic-python.yaml" "$host run $playbook --output json" \
  --command-name "python3 script.py '<args>'" "$python $work/script.py '$args'"

python3 - "$work/runs.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"median {r['median'] * 1000:8.1f} ms  {r['command']}")
PY
