#!/usr/bin/env bash
# The chat example in a real browser: headless Chromium, driven by
# playwright-core (test.mjs), against `examples/chat.rs` on 127.0.0.1.
# Entry point for CI: `bash tests/browser/run.sh`. Installs Debian's
# chromium (and node) if missing, and playwright-core from package-lock.json.
# Writes tests/browser/screenshot.png.
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

# Port 0: the kernel picks a free port and the server prints it, so there
# is no window in which another process could take it.
SERVER_LOG="$(mktemp)"
"$TARGET_DIR/debug/examples/chat" 127.0.0.1:0 >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
cleanup() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    rm -f "$SERVER_LOG"
}
trap cleanup EXIT

URL=""
for _ in $(seq 1 100); do
    URL="$(sed -n 's|^listening on \(http://127\.0\.0\.1:[0-9]*\)/$|\1|p' "$SERVER_LOG")"
    [ -n "$URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; log "the server died"; exit 1; }
    sleep 0.1
done
[ -n "$URL" ] || { log "the server did not start within 10 s"; exit 1; }
log "chat server at $URL"

start=$SECONDS
timeout 120 node "$HERE/test.mjs" "$URL"
log "browser test took $((SECONDS - start))s"
