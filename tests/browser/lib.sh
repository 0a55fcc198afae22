# What tests/browser/run.sh and cluster.sh share, sourced by both:
# installing the browser and its driver, a certificate for the run, and
# starting a chat instance. Expects ROOT, HERE and WORK to be set.

log() { printf '== %s: %s\n' "${LOG_TAG:-browser}" "$*" >&2; }

# Debian's chromium (and node) if missing, and playwright-core from
# package-lock.json; it drives the system's Chromium and downloads no
# browser. Fonts for the CJK and emoji the tests send, so screenshots show
# them rather than empty boxes (the checks themselves read the text).
# Only what is missing: a machine whose Node comes from elsewhere (with
# npm inside it) cannot take Debian's npm, which conflicts with it.
install_browser() {
    local packages=()
    [ -x /usr/bin/chromium ] || packages+=(chromium)
    command -v openssl >/dev/null || packages+=(openssl)
    command -v npm >/dev/null || packages+=(nodejs npm)
    dpkg -s fonts-wqy-zenhei fonts-noto-color-emoji >/dev/null 2>&1 \
        || packages+=(fonts-wqy-zenhei fonts-noto-color-emoji)
    if [ "${#packages[@]}" -gt 0 ]; then
        log "installing ${packages[*]} from Debian"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"
    fi
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
}

# The debug chat, and where cargo put it.
build_chat() {
    cargo build --example chat --features "tokio http"
    TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
    case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
    CHAT="$TARGET_DIR/debug/examples/chat"
}

# A certificate made for this run, for 127.0.0.1 and localhost:
# $WORK/cert.pem and $WORK/key.pem.
make_cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
}

# Start `chat 127.0.0.1:0 ARGS...` with its output in LOGFILE and wait for
# its address: sets CHAT_PID and CHAT_URL. Port 0: the kernel picks a free
# port and the server prints it, so no other process can take it meanwhile.
start_chat() {
    local logfile="$1"
    shift
    "$CHAT" 127.0.0.1:0 "$@" >"$logfile" 2>&1 &
    CHAT_PID=$!
    CHAT_URL=""
    for _ in $(seq 1 100); do
        CHAT_URL="$(sed -n 's|^listening on \(https*://127\.0\.0\.1:[0-9]*\)/$|\1|p' "$logfile")"
        [ -n "$CHAT_URL" ] && return 0
        kill -0 "$CHAT_PID" 2>/dev/null || { cat "$logfile" >&2; log "the chat died"; exit 1; }
        sleep 0.1
    done
    log "the chat did not start within 10 s"
    exit 1
}

# Stop the process PID (TERM, then KILL after 5 s) and reap it; quiet if
# it is gone already.
stop_pid() {
    local pid="$1"
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
