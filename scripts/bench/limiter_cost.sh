#!/usr/bin/env bash
# The rate limiter's cost in load-independent units (issue 11): the same
# catalog item read with the limiter off and on, each measured as vasgw
# worker CPU per request (utime + stime of the worker processes from
# /proc/PID/stat), syscalls per request of the workers (perf stat on the
# raw_syscalls:sys_enter tracepoint, plus the few syscalls that differ) and
# Redis round trips per request (INFO stats total_reads_processed).
#
# Usage: set -a; . run/test/stack.env; set +a   (VAS_PORT_OFFSET exported)
#        scripts/bench/limiter_cost.sh [seconds] [connections] [rounds]
# Restarts the stack's vasgw (off, on, off, on … for rounds pairs) and
# leaves it with the stack's own configuration.
set -euo pipefail

SECS=${1:-5}
CONNS=${2:-64}
ROUNDS=${3:-1}
PATH_READ=${LIMITER_COST_PATH:-/v1/catalog/items/1}
: "${VAS_STACK_NAME:?source the stack env first}"
ROOT=${VAS_ROOT:?}
TCK=$(getconf CLK_TCK)
EVENTS=raw_syscalls:sys_enter,syscalls:sys_enter_futex,syscalls:sys_enter_read
EVENTS+=,syscalls:sys_enter_write,syscalls:sys_enter_poll
EVENTS+=,context-switches

# shellcheck source=scripts/bench/procs.sh
. "$ROOT/scripts/bench/procs.sh"

redis_reads() {
    redis-cli -h "$VAS_REDIS_HOST" -p "$VAS_REDIS_PORT" --user "$VAS_REDIS_USER" \
        --pass "$VAS_REDIS_PASSWORD" \
        --no-auth-warning INFO stats | tr -d '\r' | awk -F: '/^total_reads_processed:/ { print $2 }'
}

restart() { # 1 = limiter off
    "$ROOT/scripts/stack.sh" stop-part "$VAS_STACK_NAME" vasgw >/dev/null
    if (($1)); then
        VASGW_RATELIMIT_ENABLED=0 "$ROOT/scripts/stack.sh" start-part "$VAS_STACK_NAME" vasgw >/dev/null
    else
        # LIMITER_ON_ENV: extra VASGW_RATELIMIT_*=… settings for the "on" rows.
        # shellcheck disable=SC2086 # words on purpose: NAME=value pairs
        env ${LIMITER_ON_ENV:-} "$ROOT/scripts/stack.sh" start-part "$VAS_STACK_NAME" vasgw >/dev/null
    fi
    sleep 1
}

# CPU ticks of the other processes of the stack: nginx (master and workers) and redis-server.
others() {
    local m
    m=$(cat "$VAS_NGINX_PID_FILE")
    echo "$m"
    tr ' ' '\n' <"/proc/$m/task/$m/children"
}

measure() {
    local label=$1 pids ngx t0 t1 n0 n1 d0 d1 r0 r1 out perf reqs rd
    mapfile -t pids < <(workers)
    mapfile -t ngx < <(others | grep .)
    rd=$(cat "$VAS_REDIS_PID_FILE")
    wrk -t2 -c"$CONNS" -d1s "$VAS_BASE_URL$PATH_READ" >/dev/null 2>&1 || true
    out=$(mktemp) perf=$(mktemp)
    t0=$(ticks "${pids[@]}") n0=$(ticks "${ngx[@]}") d0=$(ticks "$rd") r0=$(redis_reads)
    perf stat -x, -e "$EVENTS" -p "$(
        IFS=,
        echo "${pids[*]}"
    )" -o "$perf" -- sleep "$SECS" &
    local perf_pid=$!
    wrk -t2 -c"$CONNS" -d"${SECS}s" "$VAS_BASE_URL$PATH_READ" >"$out" 2>&1
    wait "$perf_pid" || true
    t1=$(ticks "${pids[@]}") n1=$(ticks "${ngx[@]}") d1=$(ticks "$rd") r1=$(redis_reads)
    reqs=$(awk '/requests in/ { print $1 }' "$out")
    awk -v l="$label" -v n="$reqs" -v t=$((t1 - t0)) -v tn=$((n1 - n0)) -v td=$((d1 - d0)) \
        -v k="$TCK" -v rr=$((r1 - r0 - 1)) \
        -v rps="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")" '
        BEGIN { FS = "," }
        { n_e = split($3, e, ":"); ev = e[n_e]; sub(/^sys_enter_?/, "", ev); if (ev == "") ev = "all"; c[ev] = $1 }
        END {
            printf "%-4s %6d req/s  us/req: vasgw %5.1f nginx %5.1f redis %4.1f  vasgw syscalls/req %.2f (read %.2f write %.2f poll %.3f futex %.3f)  cs/req %.3f  redis rt/req %.3f\n",
                l, rps, t / k * 1e6 / n, tn / k * 1e6 / n, td / k * 1e6 / n, c["all"] / n,
                c["read"] / n, c["write"] / n, c["poll"] / n, c["futex"] / n, c["context-switches"] / n, rr / n
        }' <(grep -v '^#' "$perf" | grep -v '^$')
    rm -f "$out" "$perf"
}

echo "limiter cost: $PATH_READ, $CONNS connections, ${SECS}s per row; $(uptime | sed 's/.*load/load/')"
for ((i = 0; i < ROUNDS; i++)); do
    restart 1
    measure off
    restart 0
    measure on
done
