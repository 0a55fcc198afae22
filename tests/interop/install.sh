#!/usr/bin/env bash
# Installs the peers of the interop tests: Python `websockets` (pinned in
# requirements.txt) into a venv under target/interop/ (or
# $WSCORE_INTEROP_DIR), and Node `ws` from package-lock.json (`npm ci`
# here). Used by run.sh and by `cargo bench -p wscore-benches --bench
# scale`. Logs go to stderr.
#
# `--no-apt`: never install Node, npm or python3-venv from Debian; skip a
# peer whose toolchain is missing instead (the scale benchmark then prints
# its rows as n/a). Without it, missing tools are installed with apt-get,
# as CI needs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf '== interop install: %s\n' "$*" >&2; }

APT=1
[ "${1:-}" = --no-apt ] && APT=0

WORK="${WSCORE_INTEROP_DIR:-$ROOT/target/interop}"
VENV="$WORK/venv"

have_npm() { command -v npm >/dev/null; }
have_venv() { python3 -c 'import ensurepip' 2>/dev/null; }

# Node 20 and npm, or Debian's, as tests/browser/run.sh does; python3-venv
# for `python3 -m venv` where Debian splits it out.
if [ "$APT" = 1 ] && { ! have_npm || ! have_venv; }; then
    log "installing nodejs, npm, python3-venv from Debian"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm python3-venv
fi

# Python: a venv of our own, so the system Python stays untouched. Reused
# when it already has exactly the pinned version.
WANT="$(sed -n 's/^websockets==//p' "$HERE/requirements.txt")"
if "$VENV/bin/python" -c "import sys, websockets; sys.exit(websockets.__version__ != '$WANT')" \
    2>/dev/null; then
    :
elif have_venv; then
    log "installing websockets==$WANT into $VENV"
    rm -rf "$VENV"
    mkdir -p "$WORK"
    python3 -m venv "$VENV"
    PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 300 "$VENV/bin/pip" install --quiet \
        -r "$HERE/requirements.txt"
else
    log "no python3 with venv: skipping websockets"
fi

# Node: exactly the locked ws.
if have_npm; then
    (cd "$HERE" && timeout 300 npm ci --no-audit --no-fund --loglevel=error)
else
    log "no npm: skipping ws"
fi
