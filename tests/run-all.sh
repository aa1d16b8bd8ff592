#!/usr/bin/env bash
# The project's test command (README.md; .ci/run calls it). On a fresh machine it:
#   1. installs what the tests need (tests/setup.sh: rust target, system packages, test servers);
#   2. builds (once, cached outside the repo) and starts the test Kubernetes control plane;
#   3. builds the workspace and runs every test: unit, integration, hostile-plugin suite,
#      end-to-end against the control plane;
#   4. stops the control plane, whatever happened.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "installing test prerequisites"
tests/setup.sh

step "building the test control plane (cached)"
tests/cluster/build.sh

step "starting the test control plane"
trap 'tests/cluster/down.sh >/dev/null 2>&1 || true' EXIT
export NOETL_TEST_KUBECONFIG
NOETL_TEST_KUBECONFIG="$(tests/cluster/up.sh)"
tests/cluster/smoke.sh

# One `cargo test` over the workspace builds everything once (a `cargo build -p ...` first
# would resolve features differently and compile wasmtime twice); it also builds the
# `noetl-host` binary the CLI tests run, because the host package has integration tests.
step "building and running the tests"
cargo test --locked --no-fail-fast

step "running the end-to-end tests against the control plane"
cargo test --locked --no-fail-fast -- --ignored
