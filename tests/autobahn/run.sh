#!/usr/bin/env bash
# Run the Autobahn|Testsuite (wstest 0.8.2) against wscore in both roles and
# check the results strictly. Entry point for CI: `bash tests/autobahn/run.sh`.
#
#   client role  wstest -m fuzzingclient  -> tests the echo_server example
#   server role  wstest -m fuzzingserver  <- the autobahn_client example connects
#
# Everything listens on 127.0.0.1 only. See tests/autobahn/README.md for the
# environment variables.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

AB_DIR="${WSCORE_AUTOBAHN_DIR:-$HOME/.cache/wscore-autobahn}"
export WSCORE_AUTOBAHN_DIR="$AB_DIR"
VENV_PY="$AB_DIR/venv/bin/python"

PORT="${WSCORE_AUTOBAHN_PORT:-9001}"
ADDR="127.0.0.1:$PORT"
# The path wstest's server role connects to (the axum echo serves /ws).
URL="ws://$ADDR${WSCORE_AUTOBAHN_PATH:-}"
AGENT="wscore"
ROLES="${WSCORE_AUTOBAHN_ROLES:-client server}"
# Space or comma separated case patterns; the exclusion list replaces the
# spec's (none: every case, permessage-deflate's 12.* and 13.* included).
CASES="${WSCORE_AUTOBAHN_CASES:-*}"
EXCLUDE="${WSCORE_AUTOBAHN_EXCLUDE-}"
# 12.* and 13.* send 216,000 messages of up to 128 KiB per role; wstest
# (one Python 2 process) needs about six minutes of CPU for them.
RUN_TIMEOUT="${WSCORE_AUTOBAHN_TIMEOUT:-1800}"         # seconds, per role
STARTUP_TIMEOUT="${WSCORE_AUTOBAHN_STARTUP_TIMEOUT:-30}" # seconds
REPORT_DIR="${WSCORE_AUTOBAHN_REPORT_DIR:-$ROOT/target/autobahn}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
ECHO_SERVER_CMD="${WSCORE_ECHO_SERVER_CMD:-$TARGET_DIR/release/examples/echo_server $ADDR}"
AUTOBAHN_CLIENT_CMD="${WSCORE_AUTOBAHN_CLIENT_CMD:-$TARGET_DIR/release/examples/autobahn_client $URL $AGENT}"
# Override commands may use these.
export WSCORE_AUTOBAHN_ADDR="$ADDR" WSCORE_AUTOBAHN_URL="$URL" WSCORE_AUTOBAHN_AGENT="$AGENT"

log() { printf '== autobahn: %s\n' "$*" >&2; }
die() { printf '== autobahn: ERROR: %s\n' "$*" >&2; exit 1; }

for r in $ROLES; do
    case "$r" in client | server) ;; *) die "unknown role '$r' in WSCORE_AUTOBAHN_ROLES (client, server)" ;; esac
done
# Several roles run at once (each wstest is one mostly single-threaded
# process, so two fit on two cores), each by a copy of this script with
# one role and its own port: the client role on PORT, the server role on
# PORT+1. WSCORE_AUTOBAHN_PARALLEL=0 runs them one after the other on PORT.
PARALLEL="${WSCORE_AUTOBAHN_PARALLEL:-1}"
CHILD="${WSCORE_AUTOBAHN_CHILD:-0}"

# ---------------------------------------------------------------- processes
BG_PIDS=()

# forget_pid PID: drop a reaped PID from BG_PIDS (its number may be reused).
forget_pid() {
    local p keep=()
    for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    BG_PIDS=("${keep[@]+"${keep[@]}"}")
}

# stop_pid PID: TERM, then KILL after 5 s, then reap. Only our own children.
stop_pid() {
    local pid="$1" i
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
        forget_pid "$pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

cleanup() {
    local pid
    for pid in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
        stop_pid "$pid"
    done
    BG_PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# run_bounded OUTVAR LOG COMMAND...: run COMMAND under `timeout RUN_TIMEOUT`
# with output to LOG and store its exit status (124 = timed out) in OUTVAR.
# It runs in the background and is waited for, so that a signal to this
# script is handled at once (and the EXIT trap stops COMMAND).
run_bounded() {
    local __var="$1" logfile="$2" pid status=0
    shift 2
    timeout --kill-after=10 "$RUN_TIMEOUT" "$@" </dev/null >"$logfile" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    wait "$pid" || status=$?
    forget_pid "$pid"
    printf -v "$__var" '%d' "$status"
}

# last_case LOG: the id of the last case wstest started (to name a hang).
last_case() {
    local id
    id="$(grep -o 'Running test case ID [0-9.]*' "$1" 2>/dev/null | tail -n 1 | awk '{print $5}')" || true
    printf '%s' "${id:-none}"
}

# wait_for DESCRIPTION PID COMMAND...: poll COMMAND every 0.1 s until it
# succeeds, PID dies, or STARTUP_TIMEOUT passes.
wait_for() {
    local what="$1" pid="$2" deadline
    shift 2
    deadline=$((SECONDS + STARTUP_TIMEOUT))
    while ! "$@"; do
        kill -0 "$pid" 2>/dev/null || { log "$what: process exited before it was ready"; return 1; }
        ((SECONDS < deadline)) || { log "$what: not ready after ${STARTUP_TIMEOUT}s"; return 1; }
        sleep 0.1
    done
}

# ------------------------------------------------------------------- setup
bash "$HERE/install.sh"

if [ "${WSCORE_AUTOBAHN_SKIP_BUILD:-0}" != 1 ]; then
    log "building examples"
    cargo build --release --example echo_server --example autobahn_client
fi

mkdir -p "$REPORT_DIR"

# make_spec ROLE TEMPLATE OUT: the spec with the port, cases, exclusions and
# the absolute report directory filled in.
make_spec() {
    python3 - "$@" "$URL" "$AGENT" "$CASES" "$EXCLUDE" <<'PY'
import json, re, sys
role, template, out, url, agent, cases, exclude = sys.argv[1:]
split = lambda s: [p for p in re.split(r"[\s,]+", s) if p]
with open(template) as f:
    spec = json.load(f)
spec["outdir"] = out.rsplit("/", 1)[0]
spec["cases"] = split(cases)
spec["exclude-cases"] = split(exclude)
if role == "client":
    spec["servers"] = [{"agent": agent, "url": url}]
else:
    spec["url"] = url
with open(out, "w") as f:
    json.dump(spec, f, indent=2)
    f.write("\n")
PY
}

# prepare_role ROLE: fresh report dir with spec.json and expected-cases.json.
prepare_role() {
    local role="$1" dir="$REPORT_DIR/$1"
    rm -rf "$dir"
    mkdir -p "$dir"
    make_spec "$role" "$HERE/fuzzing$role.json" "$dir/spec.json"
    "$VENV_PY" "$HERE/wstest_local.py" --list-cases "$dir/spec.json" >"$dir/expected-cases.json"
    log "$role role: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["cases"]))' "$dir/expected-cases.json") cases expected (cases: $CASES; excluded: ${EXCLUDE:-none})"
}

# ensure_port_free ROLE: the port must be free, or we would test a stranger.
ensure_port_free() {
    local deadline=$((SECONDS + 5))
    while port_open; do
        if ((SECONDS >= deadline)); then
            FAILED_RUNS+=("$1: something already listens on 127.0.0.1:$PORT (set WSCORE_AUTOBAHN_PORT)")
            log "$1 role: something already listens on 127.0.0.1:$PORT; skipped"
            return 1
        fi
        sleep 0.2
    done
}

FAILED_RUNS=()

# -------------------------------------------------------- client role
run_client_role() {
    local dir="$REPORT_DIR/client" pid rc start
    prepare_role client
    ensure_port_free client || return 0
    log "client role: starting echo server: $ECHO_SERVER_CMD"
    bash -c "exec $ECHO_SERVER_CMD" </dev/null >"$dir/echo_server.log" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    if ! wait_for "echo server" "$pid" grep -q "listening on" "$dir/echo_server.log"; then
        cat "$dir/echo_server.log" >&2 || true
        stop_pid "$pid"
        FAILED_RUNS+=("client: echo server did not start")
        return 0
    fi
    log "client role: running wstest -m fuzzingclient (timeout ${RUN_TIMEOUT}s, log $dir/wstest.log)"
    start=$SECONDS
    run_bounded rc "$dir/wstest.log" \
        "$VENV_PY" -u "$HERE/wstest_local.py" -m fuzzingclient -s "$dir/spec.json"
    log "client role: wstest finished in $((SECONDS - start))s (exit $rc)"
    if [ "$rc" -ne 0 ]; then
        tail -n 20 "$dir/wstest.log" >&2 || true
        if [ "$rc" -eq 124 ]; then
            FAILED_RUNS+=("client: wstest timed out after ${RUN_TIMEOUT}s (last case started: $(last_case "$dir/wstest.log"))")
        else
            FAILED_RUNS+=("client: wstest exited with $rc")
        fi
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        FAILED_RUNS+=("client: echo server exited during the run (see $dir/echo_server.log)")
    fi
    stop_pid "$pid"
}

# -------------------------------------------------------- server role
run_server_role() {
    local dir="$REPORT_DIR/server" pid rc start
    prepare_role server
    ensure_port_free server || return 0
    log "server role: starting wstest -m fuzzingserver on $URL (log $dir/wstest.log)"
    # The timeout is only a backstop: wstest is stopped once the client is done.
    timeout --kill-after=10 "$((RUN_TIMEOUT + 2 * STARTUP_TIMEOUT))" \
        "$VENV_PY" -u "$HERE/wstest_local.py" -m fuzzingserver -s "$dir/spec.json" \
        </dev/null >"$dir/wstest.log" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    if ! wait_for "wstest fuzzingserver" "$pid" port_open; then
        cat "$dir/wstest.log" >&2 || true
        stop_pid "$pid"
        FAILED_RUNS+=("server: wstest fuzzingserver did not start")
        return 0
    fi
    log "server role: running client: $AUTOBAHN_CLIENT_CMD (timeout ${RUN_TIMEOUT}s, log $dir/client.log)"
    start=$SECONDS
    run_bounded rc "$dir/client.log" bash -c "exec $AUTOBAHN_CLIENT_CMD"
    log "server role: client finished in $((SECONDS - start))s (exit $rc)"
    if [ "$rc" -ne 0 ]; then
        tail -n 20 "$dir/client.log" >&2 || true
        if [ "$rc" -eq 124 ]; then
            FAILED_RUNS+=("server: client timed out after ${RUN_TIMEOUT}s (last case started: $(last_case "$dir/wstest.log"))")
        else
            FAILED_RUNS+=("server: client exited with $rc")
        fi
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        FAILED_RUNS+=("server: wstest fuzzingserver exited during the run (see $dir/wstest.log)")
    fi
    stop_pid "$pid"
}

# ------------------------------------------------- roles in parallel
# progress_line ROLE...: the last case each role's wstest started.
progress_line() {
    local role line=""
    for role in "$@"; do
        line+="$role role at $(last_case "$REPORT_DIR/$role/wstest.log"); "
    done
    printf '%s' "${line%; }"
}

run_roles_in_parallel() {
    local role port pid rc i=0 started=$SECONDS next_note
    local -a pids=() roles=()
    for role in $ROLES; do
        # A fixed port per role, whatever the order they are listed in.
        case "$role" in client) port=$PORT ;; server) port=$((PORT + 1)) ;; esac
        log "$role role: starting in parallel on 127.0.0.1:$port (log $REPORT_DIR/$role.log)"
        WSCORE_AUTOBAHN_CHILD=1 WSCORE_AUTOBAHN_ROLES="$role" WSCORE_AUTOBAHN_PORT="$port" \
            WSCORE_AUTOBAHN_SKIP_BUILD=1 WSCORE_AUTOBAHN_REPORT_DIR="$REPORT_DIR" \
            bash "$HERE/run.sh" </dev/null >"$REPORT_DIR/$role.log" 2>&1 &
        pids+=("$!")
        roles+=("$role")
        BG_PIDS+=("$!")
    done
    # Quiet children make a long step look hung: say where they are.
    next_note=$((SECONDS + 60))
    while :; do
        local running=0
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && running=1
        done
        ((running)) || break
        if ((SECONDS >= next_note)); then
            log "$((SECONDS - started))s: $(progress_line "${roles[@]}")"
            next_note=$((SECONDS + 60))
        fi
        sleep 1
    done
    for i in "${!pids[@]}"; do
        rc=0
        wait "${pids[$i]}" || rc=$?
        forget_pid "${pids[$i]}"
        # The child's own log, in one piece, so roles do not interleave.
        sed "s/^/[${roles[$i]}] /" "$REPORT_DIR/${roles[$i]}.log" >&2
        if [ "$rc" -ne 0 ]; then
            FAILED_RUNS+=("${roles[$i]}: the role's run failed (exit $rc; see above)")
        fi
    done
    log "roles finished in $((SECONDS - started))s"
}

DIRS=()
if [ "$CHILD" != 1 ] && [ "$PARALLEL" = 1 ] && [ "$(wc -w <<<"$ROLES")" -gt 1 ]; then
    run_roles_in_parallel
    for role in $ROLES; do
        DIRS+=("$REPORT_DIR/$role")
    done
else
    for role in $ROLES; do
        "run_${role}_role"
        DIRS+=("$REPORT_DIR/$role")
    done
fi

# A child reports only its run's failures: the parent summarises every role
# (and writes summary.md once).
if [ "$CHILD" = 1 ]; then
    if [ "${#FAILED_RUNS[@]}" -gt 0 ]; then
        for f in "${FAILED_RUNS[@]}"; do
            log "FAILED: $f"
        done
        exit 1
    fi
    exit 0
fi

# ---------------------------------------------------------------- summary
summary_rc=0
python3 "$HERE/summarize.py" --agent "$AGENT" --markdown-out "$REPORT_DIR/summary.md" "${DIRS[@]}" ||
    summary_rc=$?

if [ "${#FAILED_RUNS[@]}" -gt 0 ]; then
    for f in "${FAILED_RUNS[@]}"; do
        log "FAILED: $f"
    done
    exit 1
fi
if [ "$summary_rc" -ne 0 ]; then
    log "FAILED: not every case is OK/INFORMATIONAL (reports in $REPORT_DIR)"
    exit 1
fi
log "all cases OK/INFORMATIONAL (reports in $REPORT_DIR)"
