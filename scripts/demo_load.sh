#!/usr/bin/env bash
# Loads the demo catalog and demo subscribers into a running stack; called by scripts/demo.sh NAME
# with the stack's environment exported. Idempotent: the content generator keeps existing files,
# a re-import of an unchanged feed changes nothing, and existing subscribers are skipped.
#
#   scripts/demo_load.sh NAME
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$VAS_ROOT"

STACK=${1:?usage: demo_load.sh NAME}
: "${VASCTL:?run through scripts/demo.sh (stack environment missing)}"
read -ra ctl <<<"$VASCTL"
CONTENT=${VAS_CONTENT_DIR:-$VAS_ROOT/run/$STACK/content}

# Demo subscribers: IM user, MSISDN, plan, top-up (fen).
DEMO_SUBSCRIBERS=(
    "demo-user   8613800138000  prepaid   5000"
    "demo-alice  8613900139001  prepaid   2000"
    "demo-bob    8613700137002  postpaid  0"
)

[[ -x bin/vas-ringgen ]] || make --no-print-directory bin/vas-ringgen
scripts/demo_content.sh "$CONTENT"
for feed in "$CONTENT"/feed-*.json; do
    "${ctl[@]}" catalog import "$feed"
done

for row in "${DEMO_SUBSCRIBERS[@]}"; do
    read -r user msisdn plan amount <<<"$row"
    if "${ctl[@]}" subscriber show "$msisdn" >/dev/null 2>&1; then
        log "subscriber $msisdn ($user) exists"
        continue
    fi
    "${ctl[@]}" subscriber add "$user" "$msisdn" "$plan"
    if ((amount > 0)); then
        "${ctl[@]}" topup "$msisdn" "$amount" --reference "demo-$msisdn"
    fi
done
