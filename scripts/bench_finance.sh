#!/usr/bin/env bash
# make bench-finance: the finance batch jobs at carrier scale, on a fresh `bench` stack.
#
#   1. a business day of 1,000,000 CDRs generated in SQL (set-based INSERT … SELECT from the
#      sequence engine, in 10 statements of 100,000 rows)
#   2. vasctl cdr export --date DAY --out DIR (closes the day): seconds and vasctl's peak RSS
#   3. GET /v1/admin/cdrs for that day through nginx and vasgw (streamed): seconds
#   4. a carrier file of ~1,000,000 records made from the export with discrepancies injected
#      (100 dropped, 100 billed twice, 100 wrong amounts, 100 unknown, 100 malformed lines)
#   5. vasctl reconcile --carrier-file … --date DAY: seconds, peak RSS, the class counts
#      (each must equal what was injected), then the same again (idempotent: stored run)
#   6. vasctl audit over the same CDRs plus a ledger of ROWS charges (3 x ROWS postings and
#      ROWS CDRs more, scripts/bench/ledger_data.sh): seconds, peak RSS, violations (want 0)
# Each job's CPU seconds are reported for vasctl (user + sys, /usr/bin/time) and for mariadbd
# (utime + stime from /proc before and after): less affected by a shared machine than seconds.
# Targets (issue 10): each job under 60 s and vasctl under 100 MB RSS on the 2-core machine.
# The table is saved to run/bench/bench-finance.txt. KEEP_STACK=1 leaves the stack running.
# BENCH_FIN_ROWS changes the day's size (default 1000000, a multiple of 10).
# BENCH_FIN_POOL: InnoDB buffer pool of the bench stack for this run (default 1G; the stack's
# 256M is sized for tests, a 1,000,000-CDR day with its indexes and the staging table is larger,
# and a carrier-scale server holds it in memory).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$VAS_ROOT"

STACK=bench
DIR=$VAS_ROOT/run/$STACK
ROWS=${BENCH_FIN_ROWS:-1000000}
DAY=2020-06-15
N=100 # injected discrepancies of each class

finish() {
    [[ ${KEEP_STACK:-0} == 1 ]] && return 0
    scripts/stack.sh stop "$STACK" || true
}
trap finish EXIT

scripts/stack.sh stop "$STACK"
rm -rf "$DIR"
scripts/stack.sh start "$STACK"
set -a
# shellcheck source=/dev/null
. "$DIR/stack.env"
set +a
read -ra VASCTL_CMD <<<"$VASCTL"
POOL=${BENCH_FIN_POOL:-1G}
mariadb -S "$VAS_MYSQL_SOCKET" -u root -e "SET GLOBAL innodb_buffer_pool_size = $(numfmt --from=iec "$POOL")" ||
    warn "could not resize the buffer pool (figures are with $(sql -e 'SELECT @@innodb_buffer_pool_size'))"
sql() { mariadb -S "$VAS_MYSQL_SOCKET" -u "$VAS_MYSQL_USER" -p"$VAS_MYSQL_PASSWORD" -N -B "$VAS_MYSQL_DATABASE" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# /usr/bin/time: elapsed seconds, peak RSS in KiB, and vasctl's own CPU seconds (user + sys).
timed() {
    local out=$1
    shift
    /usr/bin/time -f "%e %M %U %S" -o "$out" "$@"
}
cpu() { awk -v u="$1" -v s="$2" 'BEGIN { printf "%.1f", u + s }'; }
# mariadbd's CPU seconds so far (utime + stime, /proc/PID/stat fields 14 and 15).
MYSQLD_PID=$(cat "$VAS_MYSQL_PID_FILE")
db_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$MYSQLD_PID/stat"; }

# --- 1. the day ------------------------------------------------------------------------------
log "generating $ROWS CDRs of $DAY in SQL"
t0=$(now)
chunk=$((ROWS / 10))
for ((i = 0; i < 10; i++)); do
    lo=$((i * chunk + 1)) hi=$(((i + 1) * chunk))
    sql -e "INSERT INTO cdrs (cdr_id, kind, txn_id, subscriber_id, msisdn, im_user_id,
        purchase_id, item_id, sku, provider_id, amount, currency, provider_share, carrier_share,
        business_day, reference, created_at)
      SELECT MD5(CONCAT('bench:', seq)), IF(seq % 50 = 0, 'refund', 'charge'),
        8000000000000000 + seq, 1 + seq % 5000, CONCAT('86138', LPAD(seq % 5000, 8, '0')),
        CONCAT('im-bench-', seq % 5000), seq, 1 + seq % 200, CONCAT('RT-', 1 + seq % 200),
        1 + seq % 10, a, 'CNY', FLOOR(a * 7 / 10), a - FLOOR(a * 7 / 10), '$DAY',
        CONCAT('purchase:', seq),
        TIMESTAMP('$DAY') - INTERVAL 8 HOUR + INTERVAL (seq * 86 DIV 1000) SECOND
      FROM (SELECT seq, IF(seq % 50 = 0, -300, 100 + seq % 900) a
            FROM seq_${lo}_to_${hi}) s"
done
t_gen=$(secs "$t0" "$(now)")

# --- 2. export -------------------------------------------------------------------------------
OUT=$DIR/finance
rm -rf "$OUT"
mkdir -p "$OUT"
log "vasctl cdr export --date $DAY --out $OUT"
c0=$(db_cpu)
timed "$OUT/export.time" "${VASCTL_CMD[@]}" cdr export --date "$DAY" --out "$OUT" 2>"$OUT/export.err" || die "export failed: $(cat "$OUT/export.err")"
read -r t_exp rss_exp u s < <(tail -1 "$OUT/export.time")
cpu_exp=$(cpu "$u" "$s")
db_exp=$(secs "$c0" "$(db_cpu)")
csv=$OUT/cdrs-$DAY.csv
rows=$(($(wc -l <"$csv") - 1))
[[ $rows == "$ROWS" ]] || die "the export has $rows rows, want $ROWS"
grep -q "\"rows\":$ROWS" "$OUT/cdrs-$DAY.manifest.json" || die "manifest rows differ"
sum=$(sha256sum "$csv" | cut -d' ' -f1)
grep -q "$sum" "$OUT/cdrs-$DAY.manifest.json" || die "manifest hash differs from the file"

# --- 3. the same day over HTTP ---------------------------------------------------------------
log "GET /v1/admin/cdrs?from=$DAY&to=$DAY"
t0=$(now)
curl -sf -H "Authorization: Bearer $VAS_ADMIN_KEY" -o "$OUT/http.csv" \
    "$VAS_BASE_URL/v1/admin/cdrs?from=$DAY&to=$DAY"
t_http=$(secs "$t0" "$(now)")
cmp -s "$OUT/http.csv" "$csv" || die "the HTTP export differs from vasctl's"
rss_gw=$(ps -o rss= -C vasgw | sort -n | tail -1)

# --- 4. the carrier file ---------------------------------------------------------------------
log "carrier file with $N discrepancies of each class"
carrier=$OUT/carrier-$DAY.csv
awk -F, -v n="$N" '
    NR == 1 { print "cdr_id,msisdn,amount,currency,billed_at"; next }
    {
        for (i = 1; i <= NF; i++) gsub(/"/, "", $i)
        k = NR - 1
        if (k <= n) next                                        # charged, not billed
        line = $1 "," $6 "," $13 "," $14 "," $5
        if (k <= 2 * n) { print $1 "," $6 "," $13 + 1 "," $14 "," $5; next }  # amount
        print line
        if (k <= 3 * n) print line                               # billed twice
    }
    END {
        for (i = 1; i <= n; i++) printf "unknown%027d,8613800000000,100,CNY,x\r\n", i
        for (i = 1; i <= n; i++) print "malformed line " i
    }' "$csv" >"$carrier"
records=$(($(wc -l <"$carrier") - 1))

# --- 5. reconcile ----------------------------------------------------------------------------
log "vasctl reconcile --carrier-file $carrier --date $DAY"
rc=0
c0=$(db_cpu)
timed "$OUT/recon.time" "${VASCTL_CMD[@]}" reconcile --carrier-file "$carrier" --date "$DAY" \
    --report "$OUT/report.csv" >"$OUT/recon.txt" 2>&1 || rc=$?
[[ $rc == 1 ]] || die "reconcile exited $rc (want 1: discrepancies): $(cat "$OUT/recon.txt")"
read -r t_rec rss_rec u s < <(tail -1 "$OUT/recon.time")
cpu_rec=$(cpu "$u" "$s")
db_rec=$(secs "$c0" "$(db_cpu)")
count() { awk -v c="$1" '$1 == c { print $2 }' "$OUT/recon.txt"; }
for c in amount_mismatch charged_not_billed billed_unknown billed_twice malformed; do
    [[ $(count "$c") == "$N" ]] || die "$c: $(count "$c") found, $N injected"
done
[[ $(count charged_not_delivered) == 0 ]] || die "false positives: charged_not_delivered"
[[ $(count matched) == $((ROWS - 2 * N)) ]] || die "matched: $(count matched)"
c0=$(db_cpu)
timed "$OUT/recon2.time" "${VASCTL_CMD[@]}" reconcile --carrier-file "$carrier" --date "$DAY" \
    --report "$OUT/report2.csv" >"$OUT/recon2.txt" 2>&1 || true
grep -q "reconciled before" "$OUT/recon2.txt" || die "the re-run was not the stored run"
read -r t_rec2 rss_rec2 u s < <(tail -1 "$OUT/recon2.time")
cpu_rec2=$(cpu "$u" "$s")
db_rec2=$(secs "$c0" "$(db_cpu)")

# --- 6. audit --------------------------------------------------------------------------------
log "ledger of $ROWS charges for the audit"
scripts/bench/ledger_data.sh "$ROWS"
log "vasctl audit"
c0=$(db_cpu)
rc=0
timed "$OUT/audit.time" "${VASCTL_CMD[@]}" audit >"$OUT/audit.txt" 2>&1 || rc=$?
[[ $rc == 0 ]] || die "audit exited $rc (want 0: a clean ledger): $(tail -5 "$OUT/audit.txt")"
read -r t_aud rss_aud u s < <(tail -1 "$OUT/audit.time")
cpu_aud=$(cpu "$u" "$s")
db_aud=$(secs "$c0" "$(db_cpu)")

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
    printf 'finance bench %s, %s CDRs (%s), %s carrier records, buffer pool %s, load %s\n' \
        "$(date -u +%FT%TZ)" "$ROWS" "$DAY" "$records" "$POOL" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-44s %10s %12s %12s %12s\n' "job" "seconds" "peak RSS MB" "vasctl CPU s" \
        "mariadbd CPU s"
    printf '%-44s %10s %12s %12s %12s\n' "generate the day (SQL INSERT … SELECT)" "$t_gen" "-" "-" "-"
    printf '%-44s %10s %12s %12s %12s\n' "vasctl cdr export --out (closes the day)" "$t_exp" \
        "$(mb "$rss_exp")" "$cpu_exp" "$db_exp"
    printf '%-44s %10s %12s %12s %12s\n' "GET /v1/admin/cdrs (streamed; vasgw RSS)" "$t_http" \
        "$(mb "$rss_gw")" "-" "-"
    printf '%-44s %10s %12s %12s %12s\n' "vasctl reconcile (1st run)" "$t_rec" "$(mb "$rss_rec")" \
        "$cpu_rec" "$db_rec"
    printf '%-44s %10s %12s %12s %12s\n' "vasctl reconcile (same inputs: stored run)" "$t_rec2" \
        "$(mb "$rss_rec2")" "$cpu_rec2" "$db_rec2"
    printf '%-44s %10s %12s %12s %12s\n' "vasctl audit ($(grep -o '[0-9]* checks' "$OUT/audit.txt"))" \
        "$t_aud" "$(mb "$rss_aud")" "$cpu_aud" "$db_aud"
    printf 'every injected discrepancy found (%s of each class), no false positives\n' "$N"
} | tee "$DIR/bench-finance.txt"
