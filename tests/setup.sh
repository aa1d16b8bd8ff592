#!/usr/bin/env bash
# Installs what the tests need on a fresh machine; idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The pinned toolchain (rust-toolchain.toml: its version, components and wasm target). A
# fresh machine may have only an older one, and rustup installs nothing on first use where
# RUSTUP_AUTO_INSTALL=0. Quick when it is there.
rustup toolchain install --no-self-update

# The guest target of the pinned toolchain (older rustup does not install the file's targets).
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi

# Test servers for the fetch capability (S3 and GCS emulators), when the scripts exist.
if [[ -x tests/servers/setup.sh ]]; then
  tests/servers/setup.sh
fi

# componentize-py, which builds Python plugins (tests/tests/python_plugins.rs), at the
# version the Python SDK names (plugins/sdk-python/pyproject.toml), in a venv outside the
# repository. tests/src/lib.rs (python::componentize_py) finds it at the same path.
componentize_py_version="$(sed -n 's/.*"componentize-py==\([^"]*\)".*/\1/p' plugins/sdk-python/pyproject.toml)"
componentize_py_venv="${XDG_CACHE_HOME:-$HOME/.cache}/noetl-host/componentize-py-$componentize_py_version"
if [[ "$("$componentize_py_venv/bin/componentize-py" --version 2>/dev/null)" == "componentize-py $componentize_py_version" ]]; then
  echo "componentize-py $componentize_py_version: already installed in $componentize_py_venv"
else
  echo "componentize-py $componentize_py_version: installing into $componentize_py_venv"
  rm -rf "$componentize_py_venv"
  python3 -m venv "$componentize_py_venv"
  "$componentize_py_venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$componentize_py_version"
fi
