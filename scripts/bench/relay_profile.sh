#!/usr/bin/env bash
# relay_profile.sh STACK [ROWS]: load-independent costs of draining an outbox backlog.
#
# Stops vasgw, commits ROWS (default 100,000) outbox rows, starts vasgw and waits until the
# relay has drained them. Prints, per 1,000 notifications: CPU seconds (utime + stime from
# /proc) of the relay process, mariadbd and redis-server; MariaDB statements (Com_* and
# Questions of SHOW GLOBAL STATUS) and Redis commands and reads (INFO), and the drain rate from
# the stream ids (Redis' clock), as scripts/bench.sh's relay-drain row measures it.
# The CPU of vasgw's start-up (and of this script's polls) is included: small against a drain.
set -euo pipefail
: "${VAS_PORT_OFFSET?set VAS_PORT_OFFSET as for scripts/stack.sh (0 when none)}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
STACK=${1:-test}
N=${2:-100000}
set -a
# shellcheck source=/dev/null
. "run/$STACK/stack.env"
set +a

sql() {
    mariadb --no-defaults --socket="$VAS_MYSQL_SOCKET" --user="$VAS_MYSQL_USER" \
        --password="$VAS_MYSQL_PASSWORD" --batch --skip-column-names "$VAS_MYSQL_DATABASE" "$@"
}
rcli() {
    REDISCLI_AUTH=$VAS_REDIS_PASSWORD redis-cli --no-auth-warning --user "$VAS_REDIS_USER" \
        -h "$VAS_REDIS_HOST" -p "$VAS_REDIS_PORT" "$@"
}
# cpu PID: utime + stime in clock ticks (all threads).
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
mysql_pid=$(cat "$VAS_MYSQL_PID_FILE")
redis_pid=$(cat "$VAS_REDIS_PID_FILE")
hz=$(getconf CLK_TCK)

status() {
    sql -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions','Com_select','Com_delete',
        'Com_delete_multi','Com_update','Com_update_multi','Com_commit','Com_begin',
        'Com_set_option','Com_insert','Com_rollback','Handler_read_key','Handler_read_next',
        'Handler_read_rnd_next','Handler_read_rnd','Handler_read_first','Handler_delete','Handler_write')" |
        tr '\t' '='
    rcli INFO stats | tr -d '\r' | grep -E '^total_(commands|reads)_processed'
    rcli INFO commandstats | tr -d '\r' | grep -E '^cmdstat_' |
        sed -E 's/^cmdstat_([a-z|]+):calls=([0-9]+),usec=([0-9]+).*/redis_\1=\2 usec_\1=\3/' |
        tr ' ' '\n'
}

if [[ -n $(sql -e "SELECT 1 FROM outbox_pending LIMIT 1") ]]; then
    echo "relay_profile: outbox_pending is not empty; let the relay drain it first" >&2
    exit 1
fi
tag=$(openssl rand -hex 4)
scripts/stack.sh stop-part "$STACK" vasgw >/dev/null
sql -e "INSERT INTO outbox (notif_id, user_id, type, payload, created_at)
    SELECT CONCAT(LPAD(LOWER(HEX(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000))), 12, '0'), '$tag',
           LPAD(LOWER(HEX(seq)), 12, '0')), CONCAT('im-bench-', seq MOD 1000),
           'purchase.completed', CONCAT('{\"purchase_id\":', seq, ',\"amount\":300}'),
           UTC_TIMESTAMP(3) FROM seq_1_to_$N"
status >/tmp/relay_profile.$$.before
m0=$(cpu "$mysql_pid") r0=$(cpu "$redis_pid")
lines=$(wc -l <"$VAS_VASGW_LOG")
scripts/stack.sh start-part "$STACK" vasgw >/dev/null
relay_pid=
for _ in $(seq 100); do
    relay_pid=$(tail -n +"$lines" "$VAS_VASGW_LOG" | grep '"relay started' |
        sed -E 's/.*"pid":([0-9]+).*/\1/' | tail -1)
    [[ -n $relay_pid ]] && break
    sleep 0.1
done
deadline=$((SECONDS + 300))
while [[ -n $(sql -e "SELECT 1 FROM outbox_pending LIMIT 1") ]]; do
    ((SECONDS < deadline)) || { echo "not drained in 300 s" >&2; break; }
    sleep 0.5
done
m1=$(cpu "$mysql_pid") r1=$(cpu "$redis_pid") x1=$(cpu "$relay_pid")
status >/tmp/relay_profile.$$.after
loops=$(grep -o '[0-9]* loops' "$VAS_VASGW_LOG" | tail -1)
read -r got secs < <(/usr/bin/python3 scripts/bench/relay_stream.py drain "$tag")
echo "rows $N, in stream $got, drain ${secs}s, $(awk -v n="$got" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }')/s, $loops, load: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v n="$N" -v hz="$hz" -v m=$((m1 - m0)) -v r=$((r1 - r0)) -v x="$x1" 'BEGIN {
    printf "CPU s per 1,000: relay %.4f  mariadbd %.4f  redis %.4f  total %.4f\n",
        x / hz / n * 1000, m / hz / n * 1000, r / hz / n * 1000, (x + m + r) / hz / n * 1000 }'
join -t= <(sort /tmp/relay_profile.$$.before) <(sort /tmp/relay_profile.$$.after) |
    awk -F= -v n="$N" '{ d = $3 - $2; if (d > 0) printf "  %-28s %10d  per 1,000: %10.2f\n", $1, d, d / n * 1000 }'
rm -f /tmp/relay_profile.$$.*
