#!/usr/bin/env bash
# WebSocket over HTTP/3 (RFC 9220): the wscore-h3 member's tests (our
# client against our server over 127.0.0.1 UDP, a reset mid-message),
# then interop with aioquic + wsproto in both directions. The member is
# not a default member, so plain `cargo test` never builds quiche and
# BoringSSL; this step does, in the dev profile (BoringSSL built once for
# the tests and the examples both; clippy's check build needs its own).
# Installs cmake, libclang-dev and the Python peers if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/interop/h3/install.sh
cargo test -p wscore-h3
bash tests/interop/h3/run.sh
