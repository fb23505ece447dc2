#!/usr/bin/env bash
# make bench: a fresh `bench` stack plus the FastCGI floor (bin/vas-floor), then wrk against every
# row of BENCH_ROWS, and a table of req/s, p50, p99 and their ratios to each row's baseline from
# the same run. The table is also saved to run/bench/bench.txt. The stack is stopped at the end.
#
# BENCH_SECONDS  measured seconds per row (default 10), after a BENCH_WARMUP (default 2) s warm-up
# BENCH_THREADS  wrk threads (default 2)
# BENCH_ROUNDS   run the selected rows that many times in turn (default 1); the table then shows
#                each figure's median over the rounds, a ratio as the median of its per-round
#                ratios (row and baseline of the same round) with their min-max beside it, and
#                run/bench/bench-rounds.txt every round's figures: on 2 shared CPUs one row's
#                ratio moves by +-10% between identical runs
# BENCH_ONLY     comma-separated row names to run, e.g. BENCH_ONLY=fcgi-floor,healthz
# KEEP_STACK=1   leave the bench stack running afterwards
# BENCH_ITEMS    generate that many catalog items (default 1000; scripts/bench/catalog_data.sh, set-based SQL;
#                from 500,000 MariaDB gets a 4G buffer pool unless VAS_MYSQL_BUFFER_POOL says otherwise,
#                above 131,072 vasgw a fragment cache with a slot per item unless VAS_FRAGMENT_CACHE_MB does)
#                plus BENCH_ENTITLEMENTS (default: BENCH_ITEMS) entitlements of one subscriber
#                before measuring, e.g. BENCH_ITEMS=100000 BENCH_ONLY=fcgi-floor,fcgi-pk,catalog-
#                list,catalog-list-miss,catalog-new-miss,catalog-category-miss,catalog-search-miss
#
# The "other %" column is the CPU that neither the stack nor wrk used during the row (another
# worktree's build or tests, the hypervisor's steal), as a share of all CPUs: a row with more than
# a few percent was measured on a shared machine, and its ratio is that machine's.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$VAS_ROOT"

STACK="bench"
DIR=$VAS_ROOT/run/$STACK
SECONDS_RUN=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-2}
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-1}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive integer (got $ROUNDS)"
export BENCH_THREADS=$THREADS # scripts/bench/money.lua splits the refund ids by thread

# One row per endpoint; later issues add theirs. Fields (whitespace-separated):
#   name        unique, what BENCH_ONLY and baselines refer to
#   path        URL path on the stack's nginx
#   conns       wrk connections
#   script      wrk Lua script (repo-relative) for POSTs or headers, or "-". Scripts can read the
#               stack's env (os.getenv("VAS_ADMIN_KEY"), VAS_TOKEN_SECRET_FILE, ...).
#   baseline    the row whose req/s and p99 this one is divided by, or "-"
#   pace        optional: "half:ROW" paces the row (scripts/bench/pace.lua) to offer half the req/s
#               that ROW reached earlier in the same run, so its p99 is the latency at 50% of what
#               the stack can do; without it wrk keeps every connection busy and the p99 is the
#               queue of a saturated stack (connections / throughput: 64 / 700 req/s is 91 ms)
BENCH_ROWS=(
    "nginx-static  /bench/static.json  64  -  fcgi-floor"
    "fcgi-floor    /floor              64  -  -"
    "healthz       /healthz            64  -  fcgi-floor"
    "floor-tx@16   /floor-tx           16  -  fcgi-floor"
    "floor-tx@64   /floor-tx           64  -  fcgi-floor"
    "topup@16      /topups             16  scripts/bench/topup.lua  floor-tx@16"
    "topup@64      /topups             64  scripts/bench/topup.lua  floor-tx@64"
    # Store (issue 4): scripts/bench/store.lua loads the catalog and buyers on first use.
    "catalog-list  /v1/catalog/items?kind=ringtone&limit=20  64  scripts/bench/store.lua  fcgi-floor"
    "catalog-item  /v1/catalog/items/1  64  scripts/bench/store.lua  fcgi-floor"
    # Catalog at scale (issue 15): pages that miss the reply cache on purpose (random cursors,
    # categories, sorts and search words; scripts/bench/catalog.lua) against a FastCGI floor that
    # does one primary-key SELECT; run with BENCH_ITEMS=100000 for the carrier-scale figures.
    "fcgi-pk               /floor-pk   16  -                         fcgi-floor"
    # What a page's id statement asks of MariaDB (21 rows of an index in order from a random
    # key), behind the floor instead of the gateway: a page's ratio to fcgi-pk divided by this
    # row's is the page against a floor that does the same database work.
    "fcgi-range            /floor-range 16 -                         fcgi-pk"
    "catalog-list-miss     /list       16  scripts/bench/catalog.lua  fcgi-pk"
    "catalog-new-miss      /new        16  scripts/bench/catalog.lua  fcgi-pk"
    "catalog-category-miss /category   16  scripts/bench/catalog.lua  fcgi-pk"
    "catalog-search-miss   /search     16  scripts/bench/catalog.lua  fcgi-pk"
    "catalog-search-latin-miss /search-latin 16 scripts/bench/catalog.lua fcgi-pk"
    "catalog-search-nohit  /search-nohit   16  scripts/bench/catalog.lua  fcgi-pk"
    "catalog-search-latin-nohit /search-latin-nohit 16 scripts/bench/catalog.lua fcgi-pk"
    "library-first         /library-first  16  scripts/bench/catalog.lua  fcgi-pk"
    "library-deep          /library-deep   16  scripts/bench/catalog.lua  fcgi-pk"
    # Money (issue 8): buyers drawn from BENCH_SUBSCRIBERS (10,000) accounts; one hot buyer at a time (money.lua: a new one every 1,000 requests);
    # gifts between random buyers; full refunds of the purchases made above.
    "purchase@16   /buy                16  scripts/bench/money.lua  floor-tx@16"
    "purchase@64   /buy                64  scripts/bench/money.lua  floor-tx@64"
    "purchase-hot  /buy-hot            16  scripts/bench/money.lua  floor-tx@16"
    "gift@16       /gift               16  scripts/bench/money.lua  floor-tx@16"
    "refund@16     /refund             16  scripts/bench/money.lua  floor-tx@16"
    # The money rows' latency at half load (issue 8's "p99 at 64 connections"): each row offers
    # half of what it reached above, against floor-tx at half of its own.
    "floor-tx@64-paced  /floor-tx      64  scripts/bench/pace.lua   -                  half:floor-tx@64"
    "purchase@64-paced  /buy           64  scripts/bench/money.lua  floor-tx@64-paced  half:purchase@64"
    "topup@64-paced     /topups        64  scripts/bench/topup.lua  floor-tx@64-paced  half:topup@64"
    # Lobbies (issue 9): a floor with one Redis round trip, then join/leave (alternating per
    # joiner) and the listing against it; setup in scripts/bench/lobby_setup.py.
    "fcgi-redis    /floor-redis        64  -  fcgi-floor"
    "lobby-join-leave /joinleave       64  scripts/bench/lobby.lua  fcgi-redis"
    "lobby-list    /list               64  scripts/bench/lobby.lua  fcgi-redis"
    "fcgi-redis-paced  /floor-redis    64  scripts/bench/pace.lua   -  half:fcgi-redis"
    "lobby-join-leave-paced /joinleave 64  scripts/bench/lobby.lua  fcgi-redis-paced  half:lobby-join-leave"
    # Hardening (issue 11): the same item read with the rate limiter off and on (on: one
    # pipelined EVALSHA per request; the bench stack's limits are never reached).
    "catalog-item-nolimit  /v1/catalog/items/1  64  scripts/bench/store.lua  fcgi-floor"
    "catalog-item-limited  /v1/catalog/items/1  64  scripts/bench/store.lua  catalog-item-nolimit"
    "nginx-300k    /bench/ringtone.bin 64  -  -"
    "download-300k /download           64  scripts/bench/store.lua  nginx-300k"
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

# Carrier-scale data is measured as a carrier's server would hold it: its indexes in memory
# (1,000,000 items are ~3.4 GB with the search grams; 256M would measure the disk).
if [[ -z ${VAS_MYSQL_BUFFER_POOL:-} && ${BENCH_ITEMS:-0} -ge 500000 ]]; then
    export VAS_MYSQL_BUFFER_POOL=4G
fi
# The fragment cache as an operator sizes it for the catalog: a slot per item (one per 512 bytes
# of ring, so MiB = items / 2048; the default 64 MiB has 131,072 slots).
if [[ -z ${VAS_FRAGMENT_CACHE_MB:-} && ${BENCH_ITEMS:-0} -gt 131072 ]]; then
    export VAS_FRAGMENT_CACHE_MB=$(((BENCH_ITEMS + 2047) / 2048))
fi
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

# Fixtures the money-path rows need (subscribers with balances, …).
log "bench fixtures"
scripts/bench/setup.sh
# Always some generated data (1,000 items and a subscriber with 1,000 entitlements by default):
# the library rows read bench-heavy's library, which only the generator makes.
export BENCH_ITEMS=${BENCH_ITEMS:-1000}
log "catalog data: $BENCH_ITEMS items, ${BENCH_ENTITLEMENTS:-$BENCH_ITEMS} entitlements"
scripts/bench/catalog_data.sh "$BENCH_ITEMS" "${BENCH_ENTITLEMENTS:-$BENCH_ITEMS}"

# The workers' item fragment caches (catalog/cat_frag.h) as a server that has been up a while
# has them: every item listed six times by 8 concurrent clients, so that both workers see it
# (nginx picks a kept FastCGI connection, not a worker). Without it the *-miss rows measure a
# cache filling up; VASGW_CATALOG_FRAGMENT_CACHE=0 in the environment measures the cold path
# (every page reads every item's details).
if [[ -n ${BENCH_ITEMS:-} && ${VASGW_CATALOG_FRAGMENT_CACHE:-1} != 0 ]] &&
    { selected catalog-list-miss || selected catalog-new-miss || selected catalog-category-miss ||
        selected catalog-search-miss || selected catalog-search-latin-miss ||
        selected catalog-search-nohit || selected catalog-search-latin-nohit ||
        selected library-first || selected library-deep; }; then
    log "catalog fragments: listing every item six times"
    /usr/bin/python3 - <<'PY'
import base64, concurrent.futures as cf, json, os, urllib.request
base = os.environ["VAS_BASE_URL"]
with urllib.request.urlopen(base + "/v1/catalog/items?sort=new&limit=1") as r:
    top = json.load(r)["items"][0]["id"] + 1
def get(args):
    start, limit = args  # sort=new from id `start` down: the ids below it
    c = base64.urlsafe_b64encode(b"v1.1.%d.%d" % (start, start)).decode().rstrip("=")
    urllib.request.urlopen(base + "/v1/catalog/items?sort=new&limit=%d&cursor=%s"
                           % (limit, c)).read()
# six reply-cache keys per page (the limit), a page every 90 ids (overlapping)
jobs = [(s, 100 - k) for k in range(6) for s in range(top, 0, -90)]
with cf.ThreadPoolExecutor(8) as ex:
    list(ex.map(get, jobs))
PY
fi

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

# ratio A B [FORMAT]: A / B (default %.2f), or "-" when B is not positive.
ratio() {
    awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" \
        'BEGIN { if (b + 0 > 0) printf f, a / b; else printf "-" }'
}

wrk_cmd() {
    local conns=$1 path=$2 script=$3 secs=$4
    local cmd=(wrk -t"$THREADS" -c"$conns" -d"${secs}s" --latency)
    [[ $script != - ]] && cmd+=(-s "$VAS_ROOT/$script")
    "${cmd[@]}" "$VAS_BASE_URL$path"
}

# Rows named *-nolimit run against a vasgw restarted with the rate limiter off; the next row
# gets the stack's own configuration back.
limiter_off=0
vasgw_limiter() {
    local want=$1
    ((want == limiter_off)) && return 0
    scripts/stack.sh stop-part "$STACK" vasgw >/dev/null
    if ((want)); then
        VASGW_RATELIMIT_ENABLED=0 scripts/stack.sh start-part "$STACK" vasgw >/dev/null
    else
        scripts/stack.sh start-part "$STACK" vasgw >/dev/null
    fi
    limiter_off=$want
}

# MariaDB's side of a row: CPU time of mariadbd (utime + stime from /proc/PID/stat) and the
# statements it ran (global Questions: every statement a client sent, prepared executions
# included), both divided by the requests wrk completed in the measured seconds.
DB_PID=$(cat "$DIR/mysql/mariadbd.pid" 2>/dev/null || echo 0)
TCK=$(getconf CLK_TCK)
# proc_cpu PID [reaped]: utime + stime of a process (all its threads), clock ticks, 0 when it is
# gone; with "reaped" also cutime + cstime (the children it has waited for: a master's recycled
# workers, this script's wrk). The fields are counted after the ")" that ends the command name.
proc_cpu() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
        awk -v c="${2:-}" '{ print $12 + $13 + (c == "reaped" ? $14 + $15 : 0) }' | grep . ||
        echo 0
}
# ms_per_req TICKS REQUESTS: CPU milliseconds per request, or "-" without requests.
ms_per_req() {
    awk -v t="$1" -v k="$TCK" -v n="${2:-0}" \
        'BEGIN { if (n > 0) printf "%.3f", t / k * 1000 / n; else print "-" }'
}
db_ticks() { proc_cpu "$DB_PID"; }
db_questions() {
    mariadb --no-defaults --socket="$VAS_MYSQL_SOCKET" --user="$VAS_MYSQL_USER" \
        --password="$VAS_MYSQL_PASSWORD" --batch --skip-column-names \
        -e "SHOW GLOBAL STATUS LIKE 'Questions'" | awk '{ print $2 }'
}

# Redis' side (issues 9, 11): round trips (INFO stats total_reads_processed: one read event per
# pipelined batch a client sends), commands (total_commands_processed, scripts' inner calls
# included) and redis-server CPU, per request; admin user of stack.env.
RD_PID=$(cat "$DIR/redis/redis.pid" 2>/dev/null || echo 0)
rd_ticks() { proc_cpu "$RD_PID"; }
rd_stats() {
    redis-cli -h "$VAS_REDIS_HOST" -p "$VAS_REDIS_PORT" --user "$VAS_REDIS_USER" \
        --pass "$VAS_REDIS_PASSWORD" --no-auth-warning INFO stats 2>/dev/null | tr -d '\r' |
        awk -F: '/^total_reads_processed:/ { r = $2 } /^total_commands_processed:/ { c = $2 }
            END { print r + 0, c + 0 }'
}
# The machine's CPU that the row did not use: busy ticks of every CPU (/proc/stat: user, nice,
# system, irq, softirq, steal) less the stack's processes (each part's pid file and its children;
# a master's cutime holds its recycled workers) and this script's children (wrk, awk). On a shared
# machine another worktree's build or tests take it from the row: the "other %" column, as a share
# of all CPUs over the row, says how much, so a ratio measured beside other work can be told apart.
cpu_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
stack_ticks() {
    local f p pids=()
    for f in mysql/mariadbd.pid redis/redis.pid nginx/nginx.pid vasgw.pid floor.pid allocator.pid; do
        p=$(cat "$DIR/$f" 2>/dev/null) || continue
        [[ $p =~ ^[0-9]+$ ]] || continue
        # shellcheck disable=SC2207 # pids, one word each
        pids+=("$p" $(pgrep -P "$p" || true))
    done
    for p in "${pids[@]}"; do proc_cpu "$p" reaped; done | awk '{ n += $1 } END { print n + 0 }'
}
own_ticks() { proc_cpu $$ reaped; }
other_pct() { # other_pct BUSY STACK OWN WALL_NS: BUSY less the rest, % of all CPUs over WALL_NS
    awk -v b="$1" -v s="$2" -v o="$3" -v w="$4" -v k="$TCK" -v c="$(nproc)" \
        'BEGIN { v = (b - s - o) / k / (w / 1e9 * c) * 100; printf "%.0f", v < 0 ? 0 : v }'
}
per_req() { awk -v d="$1" -v n="${2:-0}" 'BEGIN { if (n > 0) printf "%.2f", d / n; else print "-" }'; }

# Every figure of the table per row and round: R[figure#name#round]. RPS has each row's req/s of
# the round that ran last, for the rows paced by it.
declare -A RPS CONNS BASE R
names=()
for ((round = 1; round <= ROUNDS; round++)); do
    if ((ROUNDS > 1)); then
        log "round $round of $ROUNDS"
        # The lobby rows' lobbies and users are set up afresh each round: the round before left
        # its joiners in them, and its lobbies may have reached lobby_idle_s since (409
        # lobby_closed). The refund row needs nothing: each round's purchase rows make new ones.
        rm -f "$DIR/lobby-bench.env"
    fi
    for row in "${BENCH_ROWS[@]}"; do
        read -r name path conns script base pace <<<"$row"
        selected "$name" || continue
        unset BENCH_PACE_MS
        if [[ -n ${pace:-} ]]; then
            ref=${pace#half:}
            if [[ -z ${RPS[$ref]:-} || ${RPS[$ref]} == 0 ]]; then
                warn "$name: skipped, it is paced by $ref, which did not run (add it to BENCH_ONLY)"
                continue
            fi
            # half of ref's req/s over conns connections: each waits conns / (rps / 2) s on average
            BENCH_PACE_MS=$(awk -v c="$conns" -v r="${RPS[$ref]}" \
                'BEGIN { printf "%.0f", c * 2000 / r }')
            export BENCH_PACE_MS
        fi
        if [[ $name == *-nolimit ]]; then vasgw_limiter 1; else vasgw_limiter 0; fi
        ((round == 1)) && names+=("$name")
        CONNS[$name]=$conns
        BASE[$name]=$base
        paced=${pace:+, paced: ${BENCH_PACE_MS} ms between requests}
        log "$name: $path, $conns connections$paced, ${WARMUP}s warm-up + ${SECONDS_RUN}s"
        BENCH_PHASE=warmup wrk_cmd "$conns" "$path" "$script" "$WARMUP" >/dev/null 2>&1 || true
        out=$DIR/wrk-$name.txt
        ((ROUNDS > 1)) && out=$DIR/wrk-$name.r$round.txt
        t0=$(db_ticks) q0=$(db_questions) r0=$(rd_ticks)
        read -r rt0 rc0 < <(rd_stats)
        c0=$(cpu_busy) s0=$(stack_ticks) o0=$(own_ticks) w0=$(date +%s%N)
        if ! wrk_cmd "$conns" "$path" "$script" "$SECONDS_RUN" >"$out" 2>&1; then
            warn "wrk failed for $name (see $out)"
        fi
        c1=$(cpu_busy) s1=$(stack_ticks) o1=$(own_ticks) w1=$(date +%s%N)
        t1=$(db_ticks) q1=$(db_questions) r1=$(rd_ticks)
        read -r rt1 rc1 < <(rd_stats)
        R[other#$name#$round]=$(other_pct "$((c1 - c0))" "$((s1 - s0))" "$((o1 - o0))" "$((w1 - w0))")
        reqs=$(awk '/requests in/ { print $1 }' "$out")
        R[rdrt#$name#$round]=$(per_req "$((rt1 - rt0 - 1))" "${reqs:-0}")
        R[rdcmd#$name#$round]=$(per_req "$((rc1 - rc0 - 1))" "${reqs:-0}")
        R[rdms#$name#$round]=$(ms_per_req "$((r1 - r0))" "${reqs:-0}")
        R[dbms#$name#$round]=$(ms_per_req "$((t1 - t0))" "${reqs:-0}")
        R[stmts#$name#$round]=$(awk -v q="$((q1 - q0))" -v n="${reqs:-0}" \
            'BEGIN { if (n > 0) printf "%.1f", (q - 2) / n; else print "-" }')
        RPS[$name]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
        : "${RPS[$name]:=0}"
        R[rps#$name#$round]=${RPS[$name]}
        R[p50#$name#$round]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
        R[p99#$name#$round]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
        # Non-2xx/3xx answers plus socket errors: a row with errors measured the wrong thing.
        R[errs#$name#$round]=$(awk '
            /Non-2xx or 3xx responses:/ { n += $NF }
            /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
            END { print n + 0 }' "$out")
    done
done

# --- the table -------------------------------------------------------------------------------
# median: the middle of the numbers on stdin, one per line (the mean of the two middle ones),
# "-" when there is none.
median() {
    awk '$1 ~ /^-?[0-9.]+$/ { v[n++] = $1 + 0 }
        END {
            if (n == 0) { print "-"; exit }
            for (i = 1; i < n; i++) for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
                t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
            }
            print (n % 2) ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
        }'
}

# rounds_of FIGURE NAME: the row's figure of every round, one line each.
rounds_of() {
    local r
    for ((r = 1; r <= ROUNDS; r++)); do printf '%s\n' "${R[$1#$2#$r]:--}"; done
}

# fmt PRINTF-FORMAT V: V formatted, or "-".
fmt() { awk -v f="$1" -v v="$2" 'BEGIN { if (v ~ /^-?[0-9.]+$/) printf f, v; else printf "-" }'; }

table() {
    printf '# make bench %s, %s CPUs, wrk -t%s, %ss per row after %ss warm-up' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$THREADS" "$SECONDS_RUN" "$WARMUP"
    ((ROUNDS > 1)) && printf ', %s rounds: medians, ratio range min-max of the rounds' "$ROUNDS"
    printf '\n'
    printf '%-16s %5s %10s %8s %8s  %-14s %7s %7s %7s %8s %7s %6s %7s %8s %7s' \
        endpoint conns req/s "p50 ms" "p99 ms" baseline "req/s x" "p99 x" errors "db ms/r" "stmt/r" \
        "rd rt/r" "rd cmd/r" "rd ms/r" "other %"
    ((ROUNDS > 1)) && printf '  %s' "req/s x range"
    printf '\n'
    local name base rr pr r rrs prs errs range
    for name in "${names[@]}"; do
        base=${BASE[$name]}
        rrs=() prs=()
        for ((r = 1; r <= ROUNDS; r++)); do
            if [[ $base != - && -n ${R[rps#$base#$r]:-} ]]; then
                rrs+=("$(ratio "${R[rps#$name#$r]:-0}" "${R[rps#$base#$r]}" %.4f)")
                prs+=("$(ratio "${R[p99#$name#$r]:-0}" "${R[p99#$base#$r]:-0}" %.4f)")
            fi
        done
        rr=- pr=- range=-
        if ((${#rrs[@]} > 0)); then
            rr=$(fmt %.2f "$(printf '%s\n' "${rrs[@]}" | median)")
            pr=$(fmt %.2f "$(printf '%s\n' "${prs[@]}" | median)")
            range=$(printf '%s\n' "${rrs[@]}" | awk '$1 ~ /^[0-9.]+$/ {
                if (n++ == 0 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
                END { if (n) printf "%.2f-%.2f", lo, hi; else printf "-" }')
        fi
        errs=$(rounds_of errs "$name" | awk '{ n += $1 } END { print n + 0 }')
        printf '%-16s %5s %10s %8s %8s  %-14s %7s %7s %7s %8s %7s %6s %7s %8s %7s' "$name" \
            "${CONNS[$name]}" "$(fmt %.0f "$(rounds_of rps "$name" | median)")" \
            "$(fmt %.2f "$(rounds_of p50 "$name" | median)")" \
            "$(fmt %.2f "$(rounds_of p99 "$name" | median)")" "$base" "$rr" "$pr" "$errs" \
            "$(fmt %.3f "$(rounds_of dbms "$name" | median)")" \
            "$(fmt %.1f "$(rounds_of stmts "$name" | median)")" \
            "$(fmt %.2f "$(rounds_of rdrt "$name" | median)")" \
            "$(fmt %.2f "$(rounds_of rdcmd "$name" | median)")" \
            "$(fmt %.3f "$(rounds_of rdms "$name" | median)")" \
            "$(fmt %.0f "$(rounds_of other "$name" | median)")"
        ((ROUNDS > 1)) && printf '  %s' "$range"
        printf '\n'
    done
}

# Every round's req/s, p99 and ratio per row (BENCH_ROUNDS > 1).
rounds_table() {
    local name base r rr
    printf '# make bench rounds: per row, each round: req/s, p99 ms, req/s x baseline, other %%\n'
    for name in "${names[@]}"; do
        base=${BASE[$name]}
        printf '%-26s' "$name"
        for ((r = 1; r <= ROUNDS; r++)); do
            rr=-
            [[ $base != - ]] && rr=$(ratio "${R[rps#$name#$r]:-0}" "${R[rps#$base#$r]:-0}")
            printf '  %s %s %s %s' "${R[rps#$name#$r]:--}" "${R[p99#$name#$r]:--}" "$rr" \
                "${R[other#$name#$r]:--}"
        done
        printf '\n'
    done
}

table | tee "$DIR/bench.txt"
((ROUNDS > 1)) && rounds_table >"$DIR/bench-rounds.txt"
log "table saved to $DIR/bench.txt (wrk output: $DIR/wrk-*.txt)"

# --- notifications relay (issues 5, 12) ------------------------------------------------------
# Rows appended to the table above, same columns: "req/s" is notifications/s.
#   relay-drain    a backlog of BENCH_RELAY_ROWS (100,000) outbox rows committed while vasgw is
#                  stopped, then drained by the stack's relay: rows / (last - first stream entry
#                  of the backlog), both stamped by Redis' clock (stream ids are milliseconds)
#   xadd-ceiling   redis-benchmark XADD of the same entry, one connection, pipelined like the relay
#                  ([relay] batch commands per round trip); the relay also runs the inbox script
#                  per notification, so 2 commands per notification against this 1
#                  The log also shows the CPU seconds (utime + stime, /proc) of the relay process,
#                  mariadbd and redis-server per 1,000 notifications of the drain (less sensitive
#                  to the machine's load than the rate; scripts/bench/relay_profile.sh has more)
#   relay-latency  purchase → stream under purchase load (wrk, scripts/bench/store.lua, 16
#                  connections, BENCH_RELAY_LOAD_S seconds): for every purchase.completed entry
#                  of that window, stream id time - the outbox row's created_at (its commit)
relay_sql() {
    mariadb --no-defaults --socket="$VAS_MYSQL_SOCKET" --user="$VAS_MYSQL_USER" \
        --password="$VAS_MYSQL_PASSWORD" --batch --skip-column-names "$VAS_MYSQL_DATABASE" "$@"
}

# relay_stream MODE ARG: scripts/bench/relay_stream.py (drain TAG | latency MS).
relay_stream() { /usr/bin/python3 scripts/bench/relay_stream.py "$@"; }

relay_rows() {
    local n=${BENCH_RELAY_ROWS:-100000} batch out secs rps tag got t0 p50 p99 cnt
    local lines m0 r0 m1 r1 x1 relay_pid
    batch=$(ini_value relay batch 500)
    tag=$(rand_hex 4)
    log "relay-drain: $n outbox rows, relay batch $batch"
    scripts/stack.sh stop-part "$STACK" vasgw >/dev/null
    relay_sql -e "INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
        SELECT CONCAT(LPAD(LOWER(HEX(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000))), 12, '0'), '$tag',
               LPAD(LOWER(HEX(seq)), 12, '0')), CONCAT('im-bench-', seq MOD 1000),
               'purchase.completed', CONCAT('{\"purchase_id\":', seq, ',\"amount\":300}'),
               UTC_TIMESTAMP(3) FROM seq_1_to_$n"
    m0=$(proc_cpu "$(cat "$VAS_MYSQL_PID_FILE")") r0=$(proc_cpu "$(cat "$VAS_REDIS_PID_FILE")")
    lines=$(wc -l <"$VAS_VASGW_LOG")
    scripts/stack.sh start-part "$STACK" vasgw >/dev/null
    local deadline=$((SECONDS + 300))
    # (not COUNT(*): scanning the backlog five times a second would add to mariadbd's CPU)
    until [[ -z $(relay_sql -e "SELECT 1 FROM outbox_pending LIMIT 1") ]]; do
        ((SECONDS < deadline)) || { warn "relay-drain: backlog not drained in 300 s"; break; }
        sleep 0.2
    done
    relay_pid=$(tail -n +"$((lines + 1))" "$VAS_VASGW_LOG" | grep '"relay started' |
        sed -E 's/.*"pid":([0-9]+).*/\1/' | tail -1 || true)
    x1=$(proc_cpu "${relay_pid:-0}")
    m1=$(proc_cpu "$(cat "$VAS_MYSQL_PID_FILE")") r1=$(proc_cpu "$(cat "$VAS_REDIS_PID_FILE")")
    out=$(awk -v n="$n" -v hz="$(getconf CLK_TCK)" -v x="$x1" -v m=$((m1 - m0)) \
        -v r=$((r1 - r0)) 'BEGIN { printf "relay %.4f, mariadbd %.4f, redis-server %.4f",
            x / hz / n * 1000, m / hz / n * 1000, r / hz / n * 1000 }')
    out="CPU s per 1,000 notifications (utime+stime, load $(cut -d' ' -f1 /proc/loadavg)): $out"
    log "relay-drain: $out"
    printf '%s\n' "$out" >"$DIR/relay-cpu.txt"
    read -r got secs < <(relay_stream drain "$tag")
    [[ $got == "$n" ]] || warn "relay-drain: $got of $n rows in the stream"
    rps=$(awk -v n="$got" -v s="$secs" 'BEGIN { if (s + 0 > 0) printf "%.0f", n / s; else print 0 }')

    out=$(REDISCLI_AUTH=$VAS_REDIS_PASSWORD redis-benchmark -h "$VAS_REDIS_HOST" \
        -p "$VAS_REDIS_PORT" --user "$VAS_REDIS_USER" -a "$VAS_REDIS_PASSWORD" \
        -c 1 -n "$n" -P "$batch" -q \
        XADD vas:bench:ceiling MAXLEN '~' 1000000 '*' id 0123456789abcdef0123456789abcdef \
        user im-bench-1 type purchase.completed payload '{"purchase_id":1,"amount":300}' \
        created_at 2026-01-01T00:00:00.000Z 2>&1 | tr '\r' '\n' |
        grep -o '[0-9.]* requests per second' | awk '{ v = $1 } END { print v + 0 }')
    EXTRA_ROWS+=("xadd-ceiling 1 ${out%.*} - - - - - 0")
    EXTRA_ROWS+=("relay-drain 1 $rps - - xadd-ceiling $(ratio "$rps" "${out%.*}") - 0")
    REDISCLI_AUTH=$VAS_REDIS_PASSWORD redis-cli --no-auth-warning --user "$VAS_REDIS_USER" \
        -h "$VAS_REDIS_HOST" -p "$VAS_REDIS_PORT" DEL vas:bench:ceiling >/dev/null

    log "relay-latency: purchases at 16 connections for ${BENCH_RELAY_LOAD_S:-10} s"
    t0=$(($(date +%s%3N) - 0))
    wrk_cmd 16 /purchase scripts/bench/store.lua "${BENCH_RELAY_LOAD_S:-10}" >"$DIR/wrk-relay-latency.txt" 2>&1 || true
    sleep 2
    read -r p50 p99 cnt < <(relay_stream latency "$t0")
    log "relay-latency: $cnt purchase notifications"
    EXTRA_ROWS+=("relay-latency - - $p50 $p99 - - - 0")
}

ini_value() {
    local v
    v=$(awk -v want="$1" -v key="$2" '
        /^[ \t]*\[[^]]+\][ \t]*$/ { s = $0; gsub(/^[ \t]*\[|\][ \t]*$/, "", s); next }
        s == want && $0 ~ "^[ \t]*" key "[ \t]*=" { v = $0; sub(/^[^=]*=[ \t]*/, "", v) }
        END { print v }' "$VAS_VASGW_INI")
    printf '%s\n' "${v:-$3}"
}

# --- lobby starts (issue 9) ------------------------------------------------------------------
#   lobby-start    4-player per-play starts end to end (holds, the stack's fake allocator over
#                  HTTP, capture, CDRs, outbox), 16 at a time: starts/s over the timed phases,
#                  p50/p99 of one start (scripts/bench/lobby_start.py)
lobby_start_rows() {
    local out
    log "lobby-start: 4-player per-play starts, 16 at a time"
    out=$(/usr/bin/python3 scripts/bench/lobby_start.py) || { warn "lobby-start failed"; return 0; }
    read -r _ rps p50 p99 errs <<<"$out"
    EXTRA_ROWS+=("lobby-start 16 $rps $p50 $p99 - - - $errs")
}

EXTRA_ROWS=()
if selected lobby-start; then
    lobby_start_rows
fi
if selected relay-drain; then
    relay_rows
fi
for row in "${EXTRA_ROWS[@]}"; do
    read -r name conns rps p50 p99 base rr pr errs <<<"$row"
    printf '%-16s %5s %10s %8s %8s  %-14s %7s %7s %7s\n' "$name" "$conns" "$rps" "$p50" "$p99" \
        "$base" "$rr" "$pr" "$errs"
done | tee -a "$DIR/bench.txt"
