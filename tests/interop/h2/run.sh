#!/usr/bin/env bash
# WebSocket over HTTP/2 (RFC 8441) against independent implementations,
# both directions, on 127.0.0.1 only. Entry point for CI:
# `bash tests/interop/h2/run.sh`.
#
#   1. A Python client on the `h2` and `wsproto` libraries (py_client.py)
#      against `examples/axum_echo.rs` (`wscore::axum` behind
#      `axum::serve`), over h2c.
#   2. `examples/h2_client.rs` (`wscore::tokio::h2`) against Hypercorn, an
#      ASGI server that takes WebSockets over HTTP/2, with echo_app.py,
#      over TLS with ALPN h2 and a certificate made here for the run.
#
# Installs Hypercorn, h2 and wsproto (pinned in requirements.txt) into a
# venv under target/interop/. Prints PASS or FAIL per direction; exits
# non-zero if either failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
cd "$ROOT"
log() { printf '== interop h2: %s\n' "$*" >&2; }

WORK="${WSCORE_INTEROP_DIR:-$ROOT/target/interop}"
VENV="$WORK/h2-venv"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac

# The venv is rebuilt when the pins change.
PINS="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$VENV/pins" 2>/dev/null)" != "$PINS" ]; then
    if ! python3 -c 'import ensurepip' 2>/dev/null; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv
    fi
    log "installing $(grep -v '^#' "$HERE/requirements.txt" | tr '\n' ' ')into $VENV"
    rm -rf "$VENV"
    mkdir -p "$WORK"
    python3 -m venv "$VENV"
    PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 300 "$VENV/bin/pip" install --quiet \
        -r "$HERE/requirements.txt"
    echo "$PINS" >"$VENV/pins"
fi
command -v openssl >/dev/null || {
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y openssl
}

cargo build --example axum_echo --example h2_client --features "axum h2 rustls"

TMP="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

# A free port on 127.0.0.1, for the servers that cannot report theirs.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait until something listens on $1 (10 s at most), or the process $2 died.
wait_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

failed=0

# 1. The Python client against wscore::axum, over h2c.
port="$(free_port)"
"$TARGET_DIR/debug/examples/axum_echo" "$port" >"$TMP/axum.log" 2>&1 &
PIDS+=($!)
if wait_port "$port" "$!" \
    && timeout 60 "$VENV/bin/python" "$HERE/py_client.py" 127.0.0.1 "$port" /ws; then
    echo "PASS: Python h2 + wsproto client -> wscore::axum (HTTP/2, h2c)"
else
    cat "$TMP/axum.log" >&2
    echo "FAIL: Python h2 + wsproto client -> wscore::axum (HTTP/2, h2c)"
    failed=1
fi

# 2. wscore's HTTP/2 client against Hypercorn, over TLS.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
port="$(free_port)"
(cd "$HERE" && exec "$VENV/bin/hypercorn" --certfile "$TMP/cert.pem" --keyfile "$TMP/key.pem" \
    --bind "127.0.0.1:$port" echo_app:app) >"$TMP/hypercorn.log" 2>&1 &
PIDS+=($!)
if wait_port "$port" "$!" \
    && timeout 60 "$TARGET_DIR/debug/examples/h2_client" "wss://localhost:$port/ws" --ca "$TMP/cert.pem" \
    && grep -q "websocket over HTTP/2" "$TMP/hypercorn.log"; then
    grep "websocket over" "$TMP/hypercorn.log" | sed 's/^/hypercorn: /'
    echo "PASS: wscore::tokio::h2 client -> Hypercorn (HTTP/2, TLS)"
else
    cat "$TMP/hypercorn.log" >&2
    echo "FAIL: wscore::tokio::h2 client -> Hypercorn (HTTP/2, TLS)"
    failed=1
fi

exit "$failed"
