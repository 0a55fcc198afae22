#!/usr/bin/env bash
# The chat example in a real browser: headless Chromium, driven by
# playwright-core (test.mjs), against `examples/chat.rs` on 127.0.0.1.
# Entry point for CI: `bash tests/browser/run.sh`. Installs Debian's
# chromium (and node) if missing, and playwright-core from package-lock.json
# (lib.sh). Runs it over HTTP/1.1, then over HTTPS where Chromium uses
# HTTP/2 for the page and its WebSockets. Writes tests/browser/screenshot.png
# and screenshot-h2.png. cluster.sh runs the chat behind nginx instead.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

install_browser
build_chat

# Two runs of the same test: plain HTTP/1.1, then HTTPS with a certificate
# made here for this run, where the browser picks HTTP/2 and opens its
# WebSockets on the page's connection (RFC 8441).
WORK="$(mktemp -d)"
CHAT_PID=""
cleanup() {
    stop_pid "$CHAT_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
make_cert

for mode in http https; do
    if [ "$mode" = https ]; then
        start_chat "$WORK/server.log" --tls "$WORK/cert.pem" "$WORK/key.pem"
    else
        start_chat "$WORK/server.log"
    fi
    log "chat server at $CHAT_URL"
    start=$SECONDS
    timeout 150 node "$HERE/test.mjs" "$CHAT_URL"
    log "browser test over $mode took $((SECONDS - start))s"
    stop_pid "$CHAT_PID"
    CHAT_PID=""
done
