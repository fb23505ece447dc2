#!/usr/bin/env bash
# CPU per request of one bench row, by process, in load-independent units: wrk drives PATH
# against a kept stack, and this prints per request the CPU µs (utime + stime from
# /proc/PID/stat) of the vasgw workers (of vas-floor for a /floor* path), mariadbd, nginx and
# redis-server. The row's own figures for money and lobbies are money_cost.py and
# lobby_cost.sh (with statement and command counts); this one fits any row, e.g. the
# uncached catalog pages of issue 15.
#
# Usage: set -a; . run/bench/stack.env; set +a
#        scripts/bench/row_cost.sh PATH [seconds] [connections] [wrk-script|-]
# e.g.   scripts/bench/row_cost.sh /list 5 16 scripts/bench/catalog.lua
#        scripts/bench/row_cost.sh /floor-pk 5 16 -
set -euo pipefail
WHAT=${1:?usage: row_cost.sh PATH [seconds] [connections] [wrk-script|-]}
SECS=${2:-5}
CONNS=${3:-16}
SCRIPT=${4:-scripts/bench/catalog.lua}
: "${VAS_STACK_NAME:?source the stack env first}"
ROOT=${VAS_ROOT:?}

# shellcheck source=scripts/bench/procs.sh
. "$ROOT/scripts/bench/procs.sh"

if [[ $WHAT == /floor* ]]; then
    gw=("$(cat "$VAS_STACK_DIR/floor.pid")")
else
    mapfile -t gw < <(workers)
fi
m=$(cat "$VAS_NGINX_PID_FILE")
mapfile -t ngx < <(echo "$m"; tr ' ' '\n' <"/proc/$m/task/$m/children" | grep .)
db=$(cat "$VAS_MYSQL_PID_FILE")
rd=$(cat "$VAS_REDIS_PID_FILE")
S=()
[[ $SCRIPT != - ]] && S=(-s "$ROOT/$SCRIPT")
wrk -t2 -c"$CONNS" -d1s "${S[@]}" "$VAS_BASE_URL$WHAT" >/dev/null 2>&1 || true # warm-up
g0=$(ticks "${gw[@]}") n0=$(ticks "${ngx[@]}") d0=$(ticks "$db") r0=$(ticks "$rd")
out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "${S[@]}" "$VAS_BASE_URL$WHAT")
g1=$(ticks "${gw[@]}") n1=$(ticks "${ngx[@]}") d1=$(ticks "$db") r1=$(ticks "$rd")
req=$(awk '/requests in/ { print $1 }' <<<"$out")
rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
awk -v q="$req" -v g=$((g1 - g0)) -v n=$((n1 - n0)) -v d=$((d1 - d0)) -v r=$((r1 - r0)) \
    -v t="$(getconf CLK_TCK)" -v rps="$rps" -v p="$p99" -v w="$WHAT" 'BEGIN {
    f = 1e6 / t / q
    printf "%-14s %9s req/s  p99 %-8s  µs/request: gateway %.0f  mariadbd %.0f  nginx %.0f" \
           "  redis %.0f  all %.0f\n", w, rps, p, g * f, d * f, n * f, r * f, (g + d + n + r) * f
}'
