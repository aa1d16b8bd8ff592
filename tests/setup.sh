#!/usr/bin/env bash
# Installs what the tests need on a fresh machine; idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The guest target of the pinned toolchain (rust-toolchain.toml).
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi

# Test servers for the fetch capability (S3 and GCS emulators), when the scripts exist.
if [[ -x tests/servers/setup.sh ]]; then
  tests/servers/setup.sh
fi
