#!/usr/bin/env bash
# Installs the local test servers the fetch tests start on 127.0.0.1:
#   - moto (S3 API) from PyPI, providing `moto_server`
#   - fake-gcs-server (GCS API) built from the Go module proxy
# Idempotent: each tool is installed only when missing or at another version.
# Binaries land in $NOETL_TEST_SERVERS (default $HOME/.cache/noetl-host/servers); the tests
# look there (moto_server also on PATH).
set -euo pipefail

MOTO_VERSION="5.2.1"
FAKE_GCS_VERSION="v1.56.1"
dir="${NOETL_TEST_SERVERS:-$HOME/.cache/noetl-host/servers}"
mkdir -p "$dir"

# moto: its own virtualenv under the cache dir, so the system Python stays untouched.
moto_bin="$dir/moto_server"
if [[ -x "$moto_bin" ]] && [[ "$("$dir/moto-venv/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" == "$MOTO_VERSION" ]]; then
    echo "moto $MOTO_VERSION: already installed at $moto_bin"
else
    echo "moto $MOTO_VERSION: installing into $dir/moto-venv"
    rm -rf "$dir/moto-venv"
    python3 -m venv "$dir/moto-venv"
    "$dir/moto-venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    ln -sf "$dir/moto-venv/bin/moto_server" "$moto_bin"
fi

# fake-gcs-server: built with the local Go toolchain; the version is recorded beside it.
gcs_bin="$dir/fake-gcs-server"
if [[ -x "$gcs_bin" ]] && [[ "$(cat "$gcs_bin.version" 2>/dev/null)" == "$FAKE_GCS_VERSION" ]]; then
    echo "fake-gcs-server $FAKE_GCS_VERSION: already built at $gcs_bin"
else
    command -v go >/dev/null || { echo "fake-gcs-server needs the Go toolchain (go) on PATH" >&2; exit 1; }
    echo "fake-gcs-server $FAKE_GCS_VERSION: building"
    GOBIN="$dir" go install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"
    echo "$FAKE_GCS_VERSION" > "$gcs_bin.version"
fi
echo "test servers ready in $dir"
