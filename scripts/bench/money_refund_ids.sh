#!/usr/bin/env bash
# The purchases the refund row may still refund, newest first, one id per line (read afresh by
# the warm-up and by the measured run, so the second never re-walks what the first refunded).
set -euo pipefail
mariadb --no-defaults --socket="$VAS_MYSQL_SOCKET" --user="$VAS_MYSQL_USER" \
    --password="$VAS_MYSQL_PASSWORD" --batch --skip-column-names "$VAS_MYSQL_DATABASE" \
    -e "SELECT id FROM purchases WHERE charge_txn_id IS NOT NULL AND refunded = 0
        ORDER BY id DESC LIMIT 200000"
