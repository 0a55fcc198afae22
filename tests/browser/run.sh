#!/usr/bin/env bash
# The chat example in a real browser: headless Chromium, driven by
# playwright-core (test.mjs), against `examples/chat.rs` on 127.0.0.1.
# Entry point for CI: `bash tests/browser/run.sh`. Installs Debian's
# chromium (and node) if missing, and playwright-core from package-lock.json.
# Runs it over HTTP/1.1, then over HTTPS where Chromium uses HTTP/2 for the
# page and its WebSockets. Writes tests/browser/screenshot.png and
# screenshot-h2.png.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
log() { printf '== browser: %s\n' "$*" >&2; }

# Fonts for the CJK and emoji the test sends, so the screenshot shows
# them rather than empty boxes (the check itself reads the text).
# Only what is missing: a machine whose Node comes from elsewhere (with
# npm inside it) cannot take Debian's npm, which conflicts with it.
PACKAGES=()
[ -x /usr/bin/chromium ] || PACKAGES+=(chromium)
command -v openssl >/dev/null || PACKAGES+=(openssl)
command -v npm >/dev/null || PACKAGES+=(nodejs npm)
dpkg -s fonts-wqy-zenhei fonts-noto-color-emoji >/dev/null 2>&1 \
    || PACKAGES+=(fonts-wqy-zenhei fonts-noto-color-emoji)
if [ "${#PACKAGES[@]}" -gt 0 ]; then
    log "installing ${PACKAGES[*]} from Debian"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"
fi
# playwright-core drives the system's Chromium; it downloads no browser.
(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)

cargo build --example chat --features "tokio http"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac

# Two runs of the same test: plain HTTP/1.1, then HTTPS with a certificate
# made here for this run, where the browser picks HTTP/2 and opens its
# WebSockets on the page's connection (RFC 8441).
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
    rm -rf "$WORK"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

# Start the chat server with "$@" and wait for its address. Port 0: the
# kernel picks a free port and the server prints it, so there is no window
# in which another process could take it.
start_server() {
    local log="$WORK/server.log"
    "$TARGET_DIR/debug/examples/chat" 127.0.0.1:0 "$@" >"$log" 2>&1 &
    SERVER_PID=$!
    URL=""
    for _ in $(seq 1 100); do
        URL="$(sed -n 's|^listening on \(https*://127\.0\.0\.1:[0-9]*\)/$|\1|p' "$log")"
        [ -n "$URL" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; log "the server died"; exit 1; }
        sleep 0.1
    done
    log "the server did not start within 10 s"
    exit 1
}
stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

for mode in http https; do
    if [ "$mode" = https ]; then
        start_server --tls "$WORK/cert.pem" "$WORK/key.pem"
    else
        start_server
    fi
    log "chat server at $URL"
    start=$SECONDS
    timeout 150 node "$HERE/test.mjs" "$URL"
    log "browser test over $mode took $((SECONDS - start))s"
    stop_server
done
