#!/usr/bin/env bash
# Search cost per term (issue 15) against the stack whose stack.env is loaded, after
# scripts/bench/catalog_data.sh:
#
#   scripts/bench/search_terms.sh TERM...      e.g. 琵琶 love lovx loon '琵琶 love'
#
# For each term: the rows and index entries MariaDB reads for its first page of 20
# (`vasctl catalog page --rows-read`, Handler_read_*), then SEARCH_SECONDS (default 5) of wrk
# with SEARCH_CONNS (default 8) connections on that term alone, each request from a random
# cursor with a random limit (scripts/bench/catalog.lua: the reply cache misses), and prints
# req/s, p50 and p99, mariadbd's CPU milliseconds per request (from /proc, before and after:
# less affected by a shared machine than the latencies) and statements per request (the
# server's Questions, before and after; both include the stack's background work).
set -euo pipefail
: "${VAS_MYSQL_PID_FILE:?load the stack environment (run/NAME/stack.env) first}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SECS=${SEARCH_SECONDS:-5}
CONNS=${SEARCH_CONNS:-8}
export BENCH_ITEMS=${BENCH_ITEMS:-$(mariadb --no-defaults --socket="$VAS_MYSQL_SOCKET" \
    --user="$VAS_MYSQL_USER" --password="$VAS_MYSQL_PASSWORD" --batch --skip-column-names \
    "$VAS_MYSQL_DATABASE" -e "SELECT COUNT(*) FROM items")}

cpu() { awk '{print $14 + $15}' "/proc/$(cat "$VAS_MYSQL_PID_FILE")/stat"; }
questions() {
    mariadb --no-defaults --socket="$VAS_MYSQL_SOCKET" --user="$VAS_MYSQL_USER" \
        --password="$VAS_MYSQL_PASSWORD" --batch --skip-column-names \
        -e "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{print $2}'
}

printf '%-16s %10s %9s %8s %8s %10s %9s\n' term rows_read req/s p50_ms p99_ms db_ms/req stmt/req
for term in "$@"; do
    reads=$($VASCTL catalog page --rows-read --limit 20 --q "$term" 2>&1 >/dev/null |
        sed -n 's/^rows_read //p')
    c0=$(cpu) q0=$(questions)
    out=$(BENCH_SEARCH_WORDS=$term wrk -t1 -c"$CONNS" -d"${SECS}s" --latency \
        -s scripts/bench/catalog.lua "$VAS_BASE_URL/search")
    c1=$(cpu) q1=$(questions)
    n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
    ms() { # wrk's 806.00us, 1.23ms, 1.02s to milliseconds
        awk -v v="$1" 'BEGIN { u = v; sub(/[0-9.]+/, "", u); x = v + 0;
            printf "%.1f", u == "us" ? x / 1000 : (u == "s" ? x * 1000 : (u == "m" ? x * 60000 : x)) }'
    }
    p50=$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    awk -v t="$term" -v r="$reads" -v n="$n" -v s="$SECS" -v a="$p50" -v b="$p99" \
        -v c="$((c1 - c0))" -v q="$((q1 - q0 - 1))" 'BEGIN { printf "%-16s %10s %9.0f %8s %8s %10.2f %9.2f\n",
            t, r, n / s, a, b, (n > 0 ? c * 10 / n : 0), (n > 0 ? q / n : 0) }'
done
