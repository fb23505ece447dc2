#!/usr/bin/env bash
# Ledger data for timing `vasctl audit` at scale (issue 15): N charges of 1,000 prepaid subscribers
# (one top-up each), each one ledger transaction with 3 postings (subscriber -, provider bucket +,
# carrier bucket +) and one CDR, generated set-based in SQL (INSERT … SELECT over MariaDB's
# SEQUENCE engine), then every balance set to the sum of its postings: a clean ledger of
# N + 1,000 transactions, 3N + 2,000 postings and N CDRs.
#
#   scripts/bench/ledger_data.sh N        (with a stack's stack.env loaded; adds N more each run)
set -euo pipefail
N=${1:?usage: ledger_data.sh N}
: "${VAS_MYSQL_SOCKET:?load the stack environment (run/NAME/stack.env) first}"
sql() {
    mariadb --no-defaults --socket="$VAS_MYSQL_SOCKET" --user="$VAS_MYSQL_USER" \
        --password="$VAS_MYSQL_PASSWORD" --batch --skip-column-names "$VAS_MYSQL_DATABASE" "$@"
}
t0=$(date +%s)
sql <<SQL
INSERT IGNORE INTO accounts (kind, owner_id, bucket, currency, plan, created_at, updated_at)
SELECT 'subscriber', 900000 + seq, 0, 'CNY', 'prepaid', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
FROM seq_1_to_1000;
INSERT IGNORE INTO accounts (kind, owner_id, bucket, currency, created_at, updated_at)
SELECT k.kind, IF(k.kind = 'provider', 900000, 0), b.seq, 'CNY', UTC_TIMESTAMP(3),
       UTC_TIMESTAMP(3)
FROM (SELECT 'provider' AS kind UNION ALL SELECT 'carrier' UNION ALL SELECT 'funding') k
JOIN seq_0_to_15 b;
SET @base = (SELECT COALESCE(MAX(id), 0) FROM ledger_txns);
-- One top-up per subscriber, enough for every charge.
INSERT INTO ledger_txns (id, kind, subscriber_id, amount, currency, bucket, reference, actor,
                         created_at)
SELECT @base + seq, 'topup', 900000 + seq, 1000000000, 'CNY', seq % 16,
       CONCAT('bench-ledger-', @base + seq), 'bench', UTC_TIMESTAMP(3)
FROM seq_1_to_1000;
INSERT INTO postings (txn_id, account_id, amount, created_at)
SELECT t.id, a.id, IF(a.kind = 'funding', -t.amount, t.amount), t.created_at
FROM ledger_txns t
JOIN accounts a ON (a.kind = 'subscriber' AND a.owner_id = t.subscriber_id AND a.bucket = 0)
                OR (a.kind = 'funding' AND a.owner_id = 0 AND a.bucket = t.bucket)
WHERE t.id > @base AND t.id <= @base + 1000;
-- N charges: 70% to the provider, the rest to the carrier.
INSERT INTO ledger_txns (id, kind, subscriber_id, amount, currency, provider_id,
                         provider_share, carrier_share, bucket, actor, created_at)
SELECT @base + 1000 + seq, 'charge', 900001 + seq % 1000, 100 + seq % 900, 'CNY', 900000,
       (100 + seq % 900) * 7 DIV 10, (100 + seq % 900) - (100 + seq % 900) * 7 DIV 10,
       seq % 16, 'bench', UTC_TIMESTAMP(3)
FROM seq_1_to_$N;
INSERT INTO postings (txn_id, account_id, amount, created_at)
SELECT t.id, a.id,
       CASE a.kind WHEN 'subscriber' THEN -t.amount WHEN 'provider' THEN t.provider_share
                   ELSE t.carrier_share END, t.created_at
FROM ledger_txns t
JOIN accounts a ON (a.kind = 'subscriber' AND a.owner_id = t.subscriber_id AND a.bucket = 0)
                OR (a.kind IN ('provider', 'carrier') AND a.bucket = t.bucket
                    AND a.owner_id = IF(a.kind = 'provider', 900000, 0))
WHERE t.id > @base + 1000;
INSERT INTO cdrs (cdr_id, kind, txn_id, subscriber_id, msisdn, im_user_id, provider_id, amount,
                  currency, provider_share, carrier_share, business_day, created_at)
SELECT MD5(CONCAT('bench-cdr-', t.id)), 'charge', t.id, t.subscriber_id,
       CONCAT('86139', LPAD(t.subscriber_id, 8, '0')), CONCAT('bench-', t.subscriber_id),
       t.provider_id, t.amount, 'CNY', t.provider_share, t.carrier_share,
       DATE(t.created_at + INTERVAL 8 HOUR), t.created_at
FROM ledger_txns t WHERE t.id > @base + 1000;
UPDATE accounts a JOIN (SELECT account_id, SUM(amount) AS s FROM postings
                        GROUP BY account_id) p ON p.account_id = a.id
SET a.balance = p.s
WHERE a.balance <> p.s AND ((a.kind = 'subscriber' AND a.owner_id > 900000)
      OR (a.kind IN ('provider', 'funding') AND a.owner_id IN (0, 900000))
      OR a.kind = 'carrier');
SQL
echo "ledger_data: $(sql -e "SELECT COUNT(*) FROM cdrs") CDRs, $(sql -e "SELECT COUNT(*)
    FROM postings") postings ($(($(date +%s) - t0)) s)"
