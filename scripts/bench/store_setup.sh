#!/usr/bin/env bash
# make bench, store rows: loads the demo catalog plus one 300 KB ringtone into the bench stack,
# creates BENCH_BUYERS funded subscribers, and prints KEY=value lines for the wrk Lua scripts
# (cached in run/bench/store-bench.env; serialised with flock as every wrk thread calls it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
: "${VASCTL:?needs the bench stack environment}"
read -ra ctl <<<"$VASCTL"
OUT=$VAS_STACK_DIR/store-bench.env
BUYERS=${BENCH_BUYERS:-32}
exec 9>"$VAS_STACK_DIR/store-bench.lock"
flock 9
if [[ -s $OUT ]]; then cat "$OUT"; exit 0; fi
{
    scripts/demo_content.sh "$VAS_CONTENT_DIR"
    for f in "$VAS_CONTENT_DIR"/feed-*.json; do "${ctl[@]}" catalog import "$f"; done
    # The 300 KB ringtone: same size as nginx's /bench/ringtone.bin, with a MIDI header.
    mkdir -p "$VAS_CONTENT_DIR/bench"
    big=$VAS_CONTENT_DIR/bench/RT-BENCH-300K.mid
    { printf 'MThd'; head -c 307196 "$VAS_STACK_DIR/bench/ringtone.bin"; } >"$big"
    cat >"$VAS_STACK_DIR/bench-feed.json" <<JSON
{"feed_version": 1,
 "provider": {"code": "bench", "name": "Bench", "revenue_share_bp": 7000},
 "categories": [{"slug": "bench", "name": "Bench", "kind": "ringtone"},
                {"slug": "bench-games", "name": "Bench games", "kind": "game"}],
 "items": [{"sku": "RT-BENCH-300K", "kind": "ringtone", "title": "Bench 300K", "category": "bench",
            "price": 1, "currency": "CNY",
            "assets": [{"format": "midi", "path": "bench/RT-BENCH-300K.mid",
                        "bytes": $(stat -c %s "$big"), "sha256": "$(sha256sum "$big" | cut -c1-64)"}]},
           {"sku": "GM-BENCH-PASS", "kind": "game", "title": "Bench pass", "category": "bench-games",
            "price": 1, "currency": "CNY", "min_players": 1, "max_players": 4, "pricing": "pass",
            "pass_days": 1, "allocator_url": "http://127.0.0.1:18099/allocate"}]}
JSON
    "${ctl[@]}" catalog import "$VAS_STACK_DIR/bench-feed.json"
    for ((i = 0; i < BUYERS; i++)); do
        msisdn=$((8613000000000 + i))
        "${ctl[@]}" subscriber add "bench-$i" "$msisdn" prepaid >/dev/null 2>&1 || true
        "${ctl[@]}" topup "$msisdn" 100000000000 --reference "bench-$msisdn" >/dev/null 2>&1 || true
    done
} >&2
mysql_q() {
    /usr/bin/python3 - "$1" <<'PY'
import os, sys, pymysql
c = pymysql.connect(unix_socket=os.environ["VAS_MYSQL_SOCKET"], user=os.environ["VAS_MYSQL_USER"],
                    password=os.environ["VAS_MYSQL_PASSWORD"], database=os.environ["VAS_MYSQL_DATABASE"])
with c.cursor() as cur:
    cur.execute(sys.argv[1]); print(cur.fetchone()[0])
PY
}
big_id=$(mysql_q "SELECT id FROM items WHERE sku = 'RT-BENCH-300K'")
pass_id=$(mysql_q "SELECT id FROM items WHERE sku = 'GM-BENCH-PASS'")
tok0=$("${ctl[@]}" token mint bench-0 --ttl 86400)
dl=$(curl -s -X POST "$VAS_BASE_URL/v1/purchases" -H "Authorization: Bearer $tok0" \
    -H "Idempotency-Key: bench-dl" -H 'Content-Type: application/json' \
    -d "{\"item_id\": $big_id}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["download"]["url"])')
{
    echo "ITEM=1"
    echo "PASS=$pass_id"
    echo "DOWNLOAD=$dl"
    for ((i = 0; i < BUYERS; i++)); do
        echo "TOKEN$i=$("${ctl[@]}" token mint "bench-$i" --ttl 86400)"
    done
    echo "BUYERS=$BUYERS"
} >"$OUT"
cat "$OUT"
