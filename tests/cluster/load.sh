#!/usr/bin/env bash
# The chat's bounded load test (issue 20): two instances of examples/chat.rs
# sharing one room through a Redis on 127.0.0.1, 2,000 members over both,
# 20 lines a second for 30 s, every line to every member, p50/p99 delivery
# latency reported (examples/chat_load.rs does the members and the verdict).
# Entry point for CI: `bash tests/cluster/load.sh`. Exits with chat_load's
# status, or 1 if the joins were not spread over both instances.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
log() { printf '== load: %s\n' "$*" >&2; }

MEMBERS=2000
bash "$HERE/install.sh" >/dev/null

# Release: a debug build measures the debug build, not the room.
cargo build --release --example chat --example chat_load --features "tokio http deflate"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
BIN="$TARGET_DIR/release/examples"

# One descriptor per member in chat_load, and about one per member in each
# instance (half of them each, plus Redis and spare): raise the soft limit
# to the hard one, which this shell's children inherit.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((MEMBERS + 100)) ]; then
    log "the open-files limit is $(ulimit -n) (hard $(ulimit -Hn)); $MEMBERS members need $((MEMBERS + 100))"
    exit 1
fi

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Redis on a free port: it cannot pick one and say which, so try random
# ones until one starts and answers (a port taken, by anyone, makes
# redis-server exit at once, and the next one is tried).
start_redis() {
    for _ in $(seq 1 10); do
        REDIS_PORT=$((20000 + RANDOM % 30000))
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            >"$WORK/redis.log" 2>&1 &
        REDIS_PID=$!
        PIDS+=("$REDIS_PID")
        for _ in $(seq 1 50); do
            kill -0 "$REDIS_PID" 2>/dev/null || break
            redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
            sleep 0.1
        done
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    done
    cat "$WORK/redis.log" >&2
    log "redis-server did not start on any of 10 ports"
    exit 1
}
start_redis
log "redis on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"

# An instance on a port the kernel picks; its address is the first line
# it prints. Sets ADDR.
start_chat() {
    local out="$1"
    "$BIN/chat" 127.0.0.1:0 --redis "redis://127.0.0.1:$REDIS_PORT" >"$out" 2>"$out.err" &
    local pid=$!
    PIDS+=("$pid")
    ADDR=""
    for _ in $(seq 1 100); do
        ADDR="$(sed -n 's|^listening on http://\(127\.0\.0\.1:[0-9]*\)/$|\1|p' "$out")"
        [ -n "$ADDR" ] && { log "chat at $ADDR (pid $pid)"; return 0; }
        kill -0 "$pid" 2>/dev/null || { cat "$out.err" >&2; log "a chat instance died"; exit 1; }
        sleep 0.1
    done
    log "a chat instance did not start within 10 s"
    exit 1
}
start_chat "$WORK/a.out"; A="$ADDR"
start_chat "$WORK/b.out"; B="$ADDR"

status=0
timeout 120 "$BIN/chat_load" --members "$MEMBERS" --rate 20 --secs 30 "ws://$A/ws" "ws://$B/ws" \
    || status=$?

# Round-robin over two instances: each should have printed half the joins
# (exactly half when all got in; allow a little for a run that failed).
joins_a="$(grep -c '^joined ' "$WORK/a.out" || true)"
joins_b="$(grep -c '^joined ' "$WORK/b.out" || true)"
log "joins: $joins_a on $A, $joins_b on $B"
half=$((MEMBERS / 2))
for joins in "$joins_a" "$joins_b"; do
    if [ "$joins" -lt $((half * 95 / 100)) ] || [ "$joins" -gt $((half * 105 / 100)) ]; then
        log "an instance got $joins joins, not about $half"
        [ "$status" -ne 0 ] || status=1
    fi
done
for f in a b; do
    if [ -s "$WORK/$f.out.err" ]; then
        log "instance $f said on stderr:"
        tail -20 "$WORK/$f.out.err" >&2
    fi
done
exit "$status"
