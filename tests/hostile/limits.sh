#!/usr/bin/env bash
# Issue 16, "Servers that survive the crowd": no resource limit ends a
# server. Each server example runs under a low descriptor limit (and
# echo_server under a thread limit), a client floods it past the limit with
# idle connections, and then:
#   * the flood took the server to its limit (else this proves nothing);
#   * the server is still running, and did not spin while it was out of
#     descriptors or threads (its CPU time over the flood stays low, from
#     /proc/PID/stat);
#   * it logged its trouble at most about once a second, not per error;
#   * once the flood is gone, a legitimate client is served: a WebSocket
#     handshake and an echo (tokio_echo, echo_server), the page and a
#     WebSocket join (chat).
#
#   bash tests/hostile/limits.sh [CASE...]
#
# CASE is tokio_echo, echo_server, echo_server_threads or chat (default:
# all). LIMITS_BIN_DIR=DIR tests the example binaries in DIR instead of
# building them (to compare with another commit's). 127.0.0.1 only; every
# process it starts is killed on exit; the cases are bounded to 90 s.
set -euo pipefail
cd "$(dirname "$0")/../.."

FLOOD=200          # idle connections, well past every limit below
NOFILE=64          # descriptors for the server
SETTLE=1           # seconds for the server to reach its limit
HOLD=3             # seconds of CPU measured while the flood holds on
MAX_CPU_TICKS=45   # of HOLD*100 ticks: 15% of a core; a spinning loop takes ~100%
CLIENT=tests/hostile/limits_client.py

fail() {
    echo "limits.sh: FAIL: $*" >&2
    exit 1
}

if [[ -n "${LIMITS_BIN_DIR:-}" ]]; then
    bin=$LIMITS_BIN_DIR
else
    cargo build --release --all-features --example tokio_echo --example echo_server --example chat
    bin=target/release/examples
fi

tmp=$(mktemp -d)
# The unprivileged server (below) runs from here: it must be able to reach
# its binary.
chmod 755 "$tmp"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

# The time bound, counted from here so a cold build does not eat it.
start=$SECONDS
# The watchdog passes TERM on to its sleep, so cleanup ends both.
(
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    sleep 90 &
    nap=$!
    wait "$nap"
    echo "limits.sh: FAIL: over 90 s" >&2
    kill -TERM $$
) &
pids+=($!)

# utime + stime of a process, in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends a name that may hold
# spaces).
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    read -r -a f <<<"$stat"
    echo $((f[11] + f[12]))
}

# Fails unless $1 is running (a child that exited stays a zombie until
# reaped, so kill -0 alone would not do).
check_alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo gone)
    case $state in
        Z | X | gone) fail "$2: the server exited under the flood; its stderr ends with:
$(tail -n 5 "$tmp/$2.err")" ;;
    esac
}

# run_case NAME EXAMPLE CLIENT_MODE LIMIT_COUNTER LIMIT PREFIX...
# LIMIT_COUNTER is fds or threads: what the flood must have used up.
run_case() {
    local name=$1 example=$2 mode=$3 counter=$4 limit=$5
    shift 5
    local case_start=$SECONDS
    cp "$bin/$example" "$tmp/$example"
    # Created here, so the wait below never reads a file not there yet.
    : >"$tmp/$name.out"
    "$@" "$tmp/$example" 127.0.0.1:0 >"$tmp/$name.out" 2>"$tmp/$name.err" &
    local server=$!
    pids+=("$server")
    local port=""
    for _ in $(seq 100); do
        port=$(grep -o 'listening on [^ ]*' "$tmp/$name.out" | grep -oE ':[0-9]+' | tail -n 1 | tr -d :) || true
        [[ -n $port ]] && break
        check_alive "$server" "$name"
        sleep 0.1
    done
    [[ -n $port ]] || fail "$name: the server did not say where it listens"

    python3 "$CLIENT" flood "$port" "$FLOOD" >"$tmp/$name.flood" &
    local flood=$!
    pids+=("$flood")
    for _ in $(seq 100); do
        grep -q ready "$tmp/$name.flood" && break
        sleep 0.1
    done
    grep -q ready "$tmp/$name.flood" || fail "$name: the flood did not start"
    sleep "$SETTLE"
    check_alive "$server" "$name"

    # The flood must have pushed the server to its limit, or this proves
    # nothing.
    local used
    if [[ $counter == fds ]]; then
        used=$(ls "/proc/$server/fd" | wc -l)
    else
        used=$(awk '/^Threads:/ {print $2}' "/proc/$server/status")
    fi
    ((used >= limit - 8)) || fail "$name: the flood left the server at $used $counter, short of its limit $limit"

    local errs_before ticks_before ticks_after
    errs_before=$(wc -l <"$tmp/$name.err")
    ticks_before=$(cpu_ticks "$server")
    sleep "$HOLD"
    check_alive "$server" "$name"
    ticks_after=$(cpu_ticks "$server")
    local ticks=$((ticks_after - ticks_before))
    ((ticks <= MAX_CPU_TICKS)) || fail "$name: the server spins while out of $counter: $ticks CPU ticks in ${HOLD} s (at most $MAX_CPU_TICKS)"
    local lines=$(($(wc -l <"$tmp/$name.err") - errs_before))
    ((lines <= HOLD + 1)) || fail "$name: $lines log lines in ${HOLD} s; at most one a second is wanted. Last ones:
$(tail -n 3 "$tmp/$name.err")"

    kill "$flood"
    wait "$flood" 2>/dev/null || true
    local served
    served=$(python3 "$CLIENT" "$mode" "$port") || fail "$name: no legitimate client served after the flood"
    check_alive "$server" "$name"
    echo "ok $name: $used $counter at the limit, $ticks CPU ticks in ${HOLD} s, $lines log lines, then $served ($((SECONDS - case_start)) s)"
    grep -m 1 -E 'accept|serve' "$tmp/$name.err" | sed 's/^/   first log line: /' || true
    kill "$server"
    wait "$server" 2>/dev/null || true
}

cases=("$@")
[[ ${#cases[@]} -gt 0 ]] || cases=(tokio_echo echo_server echo_server_threads chat)
for c in "${cases[@]}"; do
    case $c in
        tokio_echo | echo_server | chat)
            mode=echo
            [[ $c == chat ]] && mode=chat
            run_case "$c" "$c" "$mode" fds "$NOFILE" prlimit --nofile="$NOFILE:$NOFILE" --
            ;;
        echo_server_threads)
            # Threads: RLIMIT_NPROC counts the tasks of the process's real
            # user, and the kernel does not enforce it for root (nor for
            # CAP_SYS_RESOURCE or CAP_SYS_ADMIN), and CI runs as root. So
            # as root the server runs as nobody (uid 65534), which setpriv
            # switches to, dropping every capability with the uid. (A
            # cgroup pids limit would do too, but needs a writable cgroup
            # tree, which a container seldom has.) The limit leaves room for
            # the tasks that user runs already, then the main thread, the
            # trimmer and 16 connection threads.
            uid=$EUID
            as_user=()
            if ((uid == 0)); then
                uid=65534
                as_user=(setpriv --reuid="$uid" --regid="$uid" --clear-groups --)
            fi
            tasks=$(grep -lE "^Uid:[[:space:]]+$uid[[:space:]]" /proc/[0-9]*/task/[0-9]*/status 2>/dev/null | wc -l || true)
            nproc=$((tasks + 18))
            run_case "$c" echo_server echo threads 18 \
                prlimit --nproc="$nproc:$nproc" -- "${as_user[@]}"
            ;;
        *) fail "unknown case $c" ;;
    esac
done
echo "limits.sh: all passed in $((SECONDS - start)) s"
