#!/usr/bin/env bash
# WebSocket over HTTP/3 (RFC 9220) interop, on 127.0.0.1 only:
#   (a) aioquic + wsproto client (py_client.py) against wscore's h3_echo,
#       with permessage-deflate offered and without;
#   (b) wscore's h3_client against an aioquic + wsproto echo server
#       (py_server.py), with permessage-deflate offered and without.
# Entry point for CI: `bash tests/interop/h3/run.sh`. Installs what it
# needs (install.sh), makes a throwaway certificate with openssl, builds
# the wscore-h3 examples, prints PASS or FAIL per case and exits non-zero
# if any failed. Every client runs under `timeout`; servers are killed on
# exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
cd "$ROOT"
log() { printf '== h3 interop: %s\n' "$*" >&2; }
# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1

WORK="${WSCORE_H3_INTEROP_DIR:-$ROOT/target/interop-h3}"
VENV="$WORK/venv"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
start=$SECONDS

bash "$HERE/install.sh"
if [ "${WSCORE_H3_SKIP_BUILD:-0}" != 1 ]; then
    # The dev profile: the member's tests build it too, and a release
    # build would compile BoringSSL once more (minutes on two cores).
    log "building the wscore-h3 examples"
    cargo build -p wscore-h3 --example h3_echo --example h3_client
fi
BIN="$TARGET_DIR/debug/examples"
log "setup took $((SECONDS - start))s"

TMP="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null

# Start a server that prints `listening on HOST:PORT`; sets $addr.
start_server() {
    local name="$1"
    shift
    "$@" >"$TMP/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        addr="$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$TMP/$name.log")"
        [ -n "$addr" ] && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    log "$name did not start:"
    cat "$TMP/$name.log" >&2
    return 1
}

passed=0
failed=0
# run_case NAME COMMAND...: a client under a hard timeout.
run_case() {
    local name="$1"
    shift
    if timeout --kill-after=5 60 "$@" >"$TMP/case.log" 2>&1; then
        sed 's/^/    /' "$TMP/case.log"
        echo "PASS: $name"
        passed=$((passed + 1))
    else
        sed 's/^/    /' "$TMP/case.log"
        echo "FAIL: $name"
        failed=$((failed + 1))
    fi
}

# (a) Python client -> wscore server.
start_server h3_echo "$BIN/h3_echo" 127.0.0.1:0 "$TMP/cert.pem" "$TMP/key.pem"
host="${addr%:*}"
port="${addr##*:}"
run_case "aioquic+wsproto client -> wscore h3_echo (permessage-deflate)" \
    "$VENV/bin/python" "$HERE/py_client.py" "$host" "$port"
run_case "aioquic+wsproto client -> wscore h3_echo (no extension)" \
    "$VENV/bin/python" "$HERE/py_client.py" "$host" "$port" --no-deflate

# (b) wscore client -> Python server.
start_server py_server "$VENV/bin/python" "$HERE/py_server.py" 127.0.0.1 0 \
    "$TMP/cert.pem" "$TMP/key.pem"
run_case "wscore h3_client -> aioquic+wsproto server (permessage-deflate)" \
    "$BIN/h3_client" --insecure "$addr" localhost /echo
run_case "wscore h3_client -> aioquic+wsproto server (no extension)" \
    "$BIN/h3_client" --insecure --no-deflate "$addr" localhost /echo

log "done in $((SECONDS - start))s"
echo "h3-interop: $passed passed, $failed failed"
if [ "$failed" -gt 0 ]; then
    for log_file in "$TMP"/h3_echo.log "$TMP"/py_server.log; do
        echo "--- $log_file"
        tail -n 20 "$log_file" || true
    done
    exit 1
fi
