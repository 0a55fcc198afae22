#!/usr/bin/env bash
# permessage-deflate interop: wscore against Python `websockets` and Node
# `ws`, in both roles, on 127.0.0.1 only. Entry point for CI:
# `bash tests/interop/run.sh`. See tests/interop/README.md.
#
# Installs websockets (pinned in requirements.txt) into a venv under
# target/interop/ and ws from package-lock.json (`npm ci`), builds the
# echo_server and client examples, then runs interop.py, which prints one
# PASS/FAIL line per case and exits non-zero if any case failed.
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

# Node 20 and npm, or Debian's, as tests/browser/run.sh does; python3-venv
# for `python3 -m venv` where Debian splits it out.
if ! command -v npm >/dev/null || ! python3 -c 'import ensurepip' 2>/dev/null; then
    log "installing nodejs, npm, python3-venv from Debian"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm python3-venv
fi

# Python: a venv of our own, so the system Python stays untouched. Reused
# when it already has exactly the pinned version.
WANT="$(sed -n 's/^websockets==//p' "$HERE/requirements.txt")"
if ! "$VENV/bin/python" -c "import sys, websockets; sys.exit(websockets.__version__ != '$WANT')" \
    2>/dev/null; then
    log "installing websockets==$WANT into $VENV"
    rm -rf "$VENV"
    mkdir -p "$WORK"
    python3 -m venv "$VENV"
    PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 300 "$VENV/bin/pip" install --quiet \
        -r "$HERE/requirements.txt"
fi

# Node: exactly the locked ws.
(cd "$HERE" && timeout 300 npm ci --no-audit --no-fund --loglevel=error)

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
