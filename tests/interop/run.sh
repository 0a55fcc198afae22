#!/usr/bin/env bash
# permessage-deflate interop: wscore against Python `websockets` and Node
# `ws`, in both roles, on 127.0.0.1 only. Entry point for CI:
# `bash tests/interop/run.sh`. See tests/interop/README.md.
#
# Installs websockets (pinned in requirements.txt) into a venv under
# target/interop/ and ws from package-lock.json (`npm ci`) with
# install.sh, builds the echo_server and client examples, then runs
# interop.py, which prints one PASS/FAIL line per case and exits non-zero
# if any case failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
log() { printf '== interop: %s\n' "$*" >&2; }

WORK="${WSCORE_INTEROP_DIR:-$ROOT/target/interop}"
VENV="$WORK/venv"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
start=$SECONDS

bash "$HERE/install.sh"

if [ "${WSCORE_INTEROP_SKIP_BUILD:-0}" != 1 ]; then
    log "building examples"
    cargo build --release --example echo_server --example client
fi
log "setup took $((SECONDS - start))s"

# interop.py bounds each case itself; this is the backstop for the whole run.
timeout --kill-after=10 600 "$VENV/bin/python" "$HERE/interop.py" \
    --python "$VENV/bin/python" --node node \
    --echo-server "$TARGET_DIR/release/examples/echo_server" \
    --client "$TARGET_DIR/release/examples/client"
