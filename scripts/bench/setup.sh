#!/usr/bin/env bash
# Bench fixtures on the bench stack (env of run/bench/stack.env exported):
# BENCH_SUBSCRIBERS prepaid subscribers 86137XXXXXXXX (00000000..N-1) with a
# large balance, so money-path rows spread over many accounts like real
# traffic instead of queueing on one subscriber's row.
set -euo pipefail
n=${BENCH_SUBSCRIBERS:-200}
sql="INSERT IGNORE INTO subscribers (im_user_id, msisdn, created_at, created_by) VALUES "
for ((i = 0; i < n; i++)); do
    printf -v m '86137%08d' "$i"
    sql+="('bench-$i', '$m', UTC_TIMESTAMP(3), 'bench')"
    ((i + 1 < n)) && sql+=","
done
mysql_cmd=(mariadb --socket="$VAS_MYSQL_SOCKET" -u"$VAS_MYSQL_USER" -p"$VAS_MYSQL_PASSWORD" "$VAS_MYSQL_DATABASE")
"${mysql_cmd[@]}" -e "$sql"
# Accounts through the same code path as production, then one big top-up.
"${mysql_cmd[@]}" -e "
INSERT IGNORE INTO accounts (kind, owner_id, bucket, currency, plan, created_at, updated_at)
SELECT 'subscriber', id, 0, 'CNY', 'prepaid', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
FROM subscribers WHERE created_by = 'bench';
UPDATE subscribers s JOIN accounts a ON a.kind = 'subscriber' AND a.owner_id = s.id
SET s.account_id = a.id WHERE s.created_by = 'bench';"
for ((i = 0; i < n; i++)); do
    printf -v m '86137%08d' "$i"
    $VASCTL topup "$m" 100000000 --reference "bench-seed-$m" >/dev/null
done
echo "bench: $n subscribers ready"
