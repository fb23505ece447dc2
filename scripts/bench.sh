#!/usr/bin/env bash
# make bench: a fresh `bench` stack plus the FastCGI floor (bin/vas-floor), then wrk against every
# row of BENCH_ROWS, and a table of req/s, p50, p99 and their ratios to each row's baseline from
# the same run. The table is also saved to run/bench/bench.txt. The stack is stopped at the end.
#
# BENCH_SECONDS  measured seconds per row (default 10), after a BENCH_WARMUP (default 2) s warm-up
# BENCH_THREADS  wrk threads (default 2)
# BENCH_ONLY     comma-separated row names to run, e.g. BENCH_ONLY=fcgi-floor,healthz
# KEEP_STACK=1   leave the bench stack running afterwards
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$VAS_ROOT"

STACK="bench"
DIR=$VAS_ROOT/run/$STACK
SECONDS_RUN=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-2}
THREADS=${BENCH_THREADS:-2}

# One row per endpoint; later issues add theirs. Fields (whitespace-separated):
#   name        unique, what BENCH_ONLY and baselines refer to
#   path        URL path on the stack's nginx
#   conns       wrk connections
#   script      wrk Lua script (repo-relative) for POSTs or headers, or "-". Scripts can read the
#               stack's env (os.getenv("VAS_ADMIN_KEY"), VAS_TOKEN_SECRET_FILE, ...).
#   baseline    the row whose req/s and p99 this one is divided by, or "-"
BENCH_ROWS=(
    "nginx-static  /bench/static.json  64  -  fcgi-floor"
    "fcgi-floor    /floor              64  -  -"
    "healthz       /healthz            64  -  fcgi-floor"
    "floor-tx@16   /floor-tx           16  -  fcgi-floor"
    "floor-tx@64   /floor-tx           64  -  fcgi-floor"
)

selected() {
    [[ -z ${BENCH_ONLY:-} ]] && return 0
    [[ ,$BENCH_ONLY, == *,"$1",* ]]
}

# --- the stack -------------------------------------------------------------------------------
command -v wrk >/dev/null 2>&1 || die "wrk is not installed (scripts/deps.sh installs it)"
finish() {
    [[ ${KEEP_STACK:-0} == 1 ]] && return 0
    scripts/stack.sh stop "$STACK" || true
}
trap finish EXIT

scripts/stack.sh stop "$STACK"
rm -rf "$DIR"
scripts/stack.sh start "$STACK"
scripts/stack.sh start-part "$STACK" floor

# nginx alone: a 200-byte JSON file and a 300 KB "ringtone".
static=$DIR/bench/static.json
json='{"status":"ok","service":"nginx-static","about":"a static file served by nginx alone","padding":"'
while ((${#json} < 200 - 3)); do json+=x; done
printf '%s"}\n' "$json" >"$static"
head -c 307200 /dev/urandom >"$DIR/bench/ringtone.bin"

set -a
# shellcheck source=/dev/null
. "$DIR/stack.env"
set +a

# --- measuring -------------------------------------------------------------------------------
# wrk prints latencies as 806.00us, 1.23ms, 1.02s or 2.00m: all to milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000
        else if (v ~ /ms$/) n = n
        else if (v ~ /m$/) n *= 60000
        else if (v ~ /s$/) n *= 1000
        printf "%.2f", n
    }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}

wrk_cmd() {
    local conns=$1 path=$2 script=$3 secs=$4
    local cmd=(wrk -t"$THREADS" -c"$conns" -d"${secs}s" --latency)
    [[ $script != - ]] && cmd+=(-s "$VAS_ROOT/$script")
    "${cmd[@]}" "$VAS_BASE_URL$path"
}

declare -A RPS P50 P99 ERRS CONNS BASE
names=()
for row in "${BENCH_ROWS[@]}"; do
    read -r name path conns script base <<<"$row"
    selected "$name" || continue
    names+=("$name")
    CONNS[$name]=$conns
    BASE[$name]=$base
    log "$name: $path, $conns connections, ${WARMUP}s warm-up + ${SECONDS_RUN}s"
    wrk_cmd "$conns" "$path" "$script" "$WARMUP" >/dev/null 2>&1 || true
    out=$DIR/wrk-$name.txt
    if ! wrk_cmd "$conns" "$path" "$script" "$SECONDS_RUN" >"$out" 2>&1; then
        warn "wrk failed for $name (see $out)"
    fi
    RPS[$name]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    P50[$name]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    P99[$name]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    # Non-2xx/3xx answers plus socket errors: a row with errors measured the wrong thing.
    ERRS[$name]=$(awk '
        /Non-2xx or 3xx responses:/ { n += $NF }
        /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
        END { print n + 0 }' "$out")
    : "${RPS[$name]:=0}"
done

# --- the table -------------------------------------------------------------------------------
table() {
    printf '# make bench %s, %s CPUs, wrk -t%s, %ss per row after %ss warm-up\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$THREADS" "$SECONDS_RUN" "$WARMUP"
    printf '%-16s %5s %10s %8s %8s  %-14s %7s %7s %7s\n' \
        endpoint conns req/s "p50 ms" "p99 ms" baseline "req/s x" "p99 x" errors
    local name base rr pr
    for name in "${names[@]}"; do
        base=${BASE[$name]}
        rr=- pr=-
        if [[ $base != - && -n ${RPS[$base]:-} ]]; then
            rr=$(ratio "${RPS[$name]}" "${RPS[$base]}")
            pr=$(ratio "${P99[$name]}" "${P99[$base]}")
        fi
        printf '%-16s %5s %10s %8s %8s  %-14s %7s %7s %7s\n' "$name" "${CONNS[$name]}" \
            "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "$base" "$rr" "$pr" "${ERRS[$name]}"
    done
}
table | tee "$DIR/bench.txt"
log "table saved to $DIR/bench.txt (wrk output: $DIR/wrk-*.txt)"
