#!/usr/bin/env bash
# The lobby rows' cost in load-independent units (issue 9): wrk drives one bench row
# (scripts/bench/lobby.lua: /joinleave or /list) against a kept stack, and this prints per
# request the CPU of redis-server, of the vasgw workers and of nginx (utime + stime from
# /proc/PID/stat), Redis round trips (INFO stats total_reads_processed) and commands, and the
# commands by name (INFO commandstats: a script's inner calls are counted under their own
# names as well as its EVALSHA).
#
# Usage: set -a; . run/test/stack.env; set +a
#        scripts/bench/lobby_cost.sh [path] [seconds] [connections]
# path /joinleave (default) or /list; the setup is scripts/bench/lobby_setup.py's (cached in
# the stack's lobby-bench.env, made afresh by each run: idle lobbies expire). /floor-redis
# measures the floor row the same way (its vas-floor process in the vasgw column; the stack's
# nginx must route it, as the bench stack's does).
set -euo pipefail

WHAT=${1:-/joinleave}
SECS=${2:-5}
CONNS=${3:-16}
: "${VAS_STACK_NAME:?source the stack env first}"
ROOT=${VAS_ROOT:?}
TCK=$(getconf CLK_TCK)

# shellcheck source=scripts/bench/procs.sh
. "$ROOT/scripts/bench/procs.sh"

rcli() {
    redis-cli -h "$VAS_REDIS_HOST" -p "$VAS_REDIS_PORT" --user "$VAS_REDIS_USER" \
        --pass "$VAS_REDIS_PASSWORD" --no-auth-warning "$@" | tr -d '\r'
}

# "name calls usec" lines, plus "_reads N" and "_cmds N".
redis_counts() {
    rcli INFO commandstats | awk -F'[:,=]' '/^cmdstat_/ { sub(/^cmdstat_/, "", $1); print $1, $3, $5 }'
    rcli INFO stats | awk -F: '/^total_reads_processed:/ { print "_reads", $2 }
        /^total_commands_processed:/ { print "_cmds", $2 }'
}

nginx_pids() {
    local m
    m=$(cat "$VAS_NGINX_PID_FILE")
    echo "$m"
    tr ' ' '\n' <"/proc/$m/task/$m/children" | grep .
}

export VAS_ROOT=$ROOT
rm -f "$VAS_STACK_DIR/lobby-bench.env"
if [[ $WHAT == /floor-redis ]]; then
    pids=("$(cat "$VAS_STACK_DIR/floor.pid")")
    SCRIPT=()
else
    mapfile -t pids < <(workers)
    SCRIPT=(-s "$ROOT/scripts/bench/lobby.lua")
fi
mapfile -t ngx < <(nginx_pids)
rd=$(cat "$VAS_REDIS_PID_FILE")
wrk -t2 -c"$CONNS" -d1s "${SCRIPT[@]}" "$VAS_BASE_URL$WHAT" >/dev/null 2>&1 || true
out=$(mktemp) c0=$(mktemp) c1=$(mktemp)
redis_counts >"$c0"
t0=$(ticks "${pids[@]}") n0=$(ticks "${ngx[@]}") d0=$(ticks "$rd")
wrk -t2 -c"$CONNS" -d"${SECS}s" "${SCRIPT[@]}" "$VAS_BASE_URL$WHAT" >"$out" 2>&1
t1=$(ticks "${pids[@]}") n1=$(ticks "${ngx[@]}") d1=$(ticks "$rd")
redis_counts >"$c1"
reqs=$(awk '/requests in/ { print $1 }' "$out")
errs=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } END { print n + 0 }' "$out")
if ((errs > 0)); then
    echo "lobby cost: $errs of $reqs requests failed: the figures below are not the row's" >&2
fi
echo "lobby cost: $WHAT, $CONNS connections, ${SECS}s, $reqs requests ($errs non-2xx);" \
    "$(uptime | sed 's/.*load/load/')"
awk -v n="$reqs" -v t=$((t1 - t0)) -v tn=$((n1 - n0)) -v td=$((d1 - d0)) -v k="$TCK" \
    -v rps="$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")" '
    FNR == NR { a[$1] = $2; u[$1] = $3; next }
    { d[$1] = $2 - a[$1]; us[$1] = $3 - u[$1] }
    END {
        printf "%d req/s  us/req: redis %.1f vasgw %.1f nginx %.1f  redis rt/req %.3f cmds/req %.2f\n",
            rps, td / k * 1e6 / n, t / k * 1e6 / n, tn / k * 1e6 / n, (d["_reads"] - 2) / n,
            (d["_cmds"] - 3) / n
        print "  command            calls/req  usec/req (EVALSHA: with its inner calls)"
        for (c in d) if (c !~ /^_/ && d[c] > 0)
            printf "  %-18s %9.3f %9.2f\n", c, d[c] / n, us[c] / n | "sort -k2 -rn"
    }' "$c0" "$c1"
rm -f "$out" "$c0" "$c1"
