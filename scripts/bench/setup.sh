#!/usr/bin/env bash
# Bench fixtures on the bench stack (env of run/bench/stack.env exported): the catalog and the
# bench items (store_setup.sh), then BENCH_SUBSCRIBERS (10,000) funded prepaid buyers
# bench-0..N-1 (86137XXXXXXXX) with tokens (money_setup.py), so money-path rows spread over
# many accounts like real traffic instead of queueing on a few accounts' rows.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
/usr/bin/python3 "$ROOT/scripts/bench/money_setup.py" accounts
"$ROOT/scripts/bench/store_setup.sh" >/dev/null
/usr/bin/python3 "$ROOT/scripts/bench/money_setup.py" env >"$VAS_STACK_DIR/money-bench.env"
echo "bench: ${BENCH_SUBSCRIBERS:-10000} subscribers ready"
