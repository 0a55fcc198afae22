#!/usr/bin/env bash
# The chat as it is deployed: two instances sharing the room through a
# redis-server, behind nginx with examples/chat/deploy/nginx.conf over
# HTTPS, and headless Chromium pages through nginx (cluster.mjs says what
# is checked). Entry point for CI: `bash tests/browser/cluster.sh`.
# Everything listens on 127.0.0.1 only, every process started here is
# stopped on the way out, and the whole run is bounded by timeouts.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
LOG_TAG=cluster
# shellcheck source=lib.sh
. "$HERE/lib.sh"

bash "$ROOT/tests/cluster/install.sh" >/dev/null
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
install_browser
build_chat

WORK="$(mktemp -d)"
REDIS_PID="" CHAT1_PID="" CHAT2_PID="" NGINX_PID="" NODE_PID=""
cleanup() {
    # The browser first, then nginx (TERM: its workers go with it), so
    # nothing reaches the instances while they stop, then the instances,
    # then Redis.
    stop_pid "$NODE_PID"
    stop_pid "$NGINX_PID"
    stop_pid "$CHAT1_PID"
    stop_pid "$CHAT2_PID"
    stop_pid "$REDIS_PID"
    if [ "${KEEP_WORK:-}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
make_cert

# A port free on 127.0.0.1 now, for the servers that cannot take port 0
# and tell (redis-server, nginx). Another process could take it before
# they bind; each is checked to have started, so that shows as a failure
# to start, not as a wrong result.
free_port() {
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Redis, in memory only: nothing saved, nothing appended.
REDIS_PORT="$(free_port)"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --dir "$WORK" --logfile "$WORK/redis.log" &
REDIS_PID=$!
for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    kill -0 "$REDIS_PID" 2>/dev/null || { cat "$WORK/redis.log" >&2; log "redis-server died"; exit 1; }
    sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping | grep -q PONG || { log "redis-server did not start"; exit 1; }
log "redis-server on 127.0.0.1:$REDIS_PORT"

# The instances answer the public authority, nginx's, and take pages from
# its origin (--allow-origin), as deploy/README.md runs them. A small
# --slow-after lets the slow page be found in seconds once the buffers
# between it and its instance (nginx's among them) are full.
NGINX_PORT="$(free_port)"
PUBLIC="https://127.0.0.1:$NGINX_PORT"
INSTANCE_ARGS=(--redis "redis://127.0.0.1:$REDIS_PORT" --allow-origin "$PUBLIC" --slow-after 4)
start_chat "$WORK/chat1.log" "${INSTANCE_ARGS[@]}"
CHAT1_PID=$CHAT_PID CHAT1_PORT="${CHAT_URL##*:}"
start_chat "$WORK/chat2.log" "${INSTANCE_ARGS[@]}"
CHAT2_PID=$CHAT_PID CHAT2_PORT="${CHAT_URL##*:}"
log "chat instances on 127.0.0.1:$CHAT1_PORT (pid $CHAT1_PID) and 127.0.0.1:$CHAT2_PORT (pid $CHAT2_PID)"

# The committed configuration with only the ports and the certificate's
# paths replaced: what is tested is what is committed. Each replacement
# must hit exactly one line, and nothing else may differ.
CONF="$ROOT/examples/chat/deploy/nginx.conf"
sed -e "s|^\(    listen \)443\( ssl http2;\)$|\1127.0.0.1:$NGINX_PORT\2|" \
    -e "s|^\(    server 127\.0\.0\.1:\)8081\( \)|\1$CHAT1_PORT\2|" \
    -e "s|^\(    server 127\.0\.0\.1:\)8082\( \)|\1$CHAT2_PORT\2|" \
    -e "s|^\(    ssl_certificate  *\)/etc/letsencrypt/live/chat\.example\.com/fullchain\.pem;$|\1$WORK/cert.pem;|" \
    -e "s|^\(    ssl_certificate_key \)/etc/letsencrypt/live/chat\.example\.com/privkey\.pem;$|\1$WORK/key.pem;|" \
    "$CONF" >"$WORK/chat.conf"
changed="$(diff "$CONF" "$WORK/chat.conf" | grep -c '^>' || true)"
[ "$changed" = 5 ] || { diff "$CONF" "$WORK/chat.conf" >&2 || true; log "expected 5 lines replaced in nginx.conf, got $changed"; exit 1; }

# What Debian's /etc/nginx/nginx.conf gives the committed file (it goes to
# conf.d/), with every path nginx writes in WORK: it runs as whoever runs
# the test, in the foreground.
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/main.conf" <<CONF
worker_processes 1;
events { worker_connections 1024; }
http {
    access_log $WORK/nginx/access.log;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    include $WORK/chat.conf;
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/main.conf" \
    -g "daemon off; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log info;" \
    2>>"$WORK/nginx/error.log" &
NGINX_PID=$!
for _ in $(seq 1 50); do
    curl -sk -o /dev/null --max-time 2 "$PUBLIC/" && break
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/nginx/error.log" >&2; log "nginx died"; exit 1; }
    sleep 0.1
done
log "nginx at $PUBLIC"

start=$SECONDS
status=0
# In the background and waited for, so that a TERM or ^C runs the trap at
# once (bash holds traps while a foreground child runs), which stops it
# (timeout passes the TERM on to node, and Playwright closes Chromium).
CLUSTER_PROFILE="$WORK/chromium" timeout 240 node "$HERE/cluster.mjs" "$PUBLIC" \
    "$CHAT1_PID" "$WORK/chat1.log" "$CHAT2_PID" "$WORK/chat2.log" &
NODE_PID=$!
wait "$NODE_PID" || status=$?
NODE_PID=""
log "cluster test took $((SECONDS - start))s"
# nginx's side of the failover: the connects it tried to the killed
# instance before it took it out and passed the page on to the other.
refused="$(grep -c 'connect() failed .* while connecting to upstream' "$WORK/nginx/error.log" || true)"
log "nginx: $refused failed connect(s) to an upstream, each passed on to the next"
if [ "$status" != 0 ]; then
    for f in chat1.log chat2.log nginx/error.log; do
        log "$f:"
        tail -n 30 "$WORK/$f" >&2 || true
    done
fi
exit "$status"
