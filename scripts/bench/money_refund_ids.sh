#!/usr/bin/env bash
# The newest purchase id (the refund row walks down from it).
set -euo pipefail
mariadb --no-defaults --socket="$VAS_MYSQL_SOCKET" --user="$VAS_MYSQL_USER" \
    --password="$VAS_MYSQL_PASSWORD" --batch --skip-column-names "$VAS_MYSQL_DATABASE" \
    -e "SELECT MAX(id) FROM purchases WHERE charge_txn_id IS NOT NULL AND refunded = 0"
