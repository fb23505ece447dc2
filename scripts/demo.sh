#!/usr/bin/env bash
# make run's last step: shows how to use a running stack, after loading the demo content.
#
#   scripts/demo.sh [NAME]     (default dev)
#
# Prints the stack's URL, its env file, a demo IM login token (24 h) and a ready storefront link
# with that token in the URL fragment.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$VAS_ROOT"

STACK=${1:-dev}
ENV_FILE=$VAS_ROOT/run/$STACK/stack.env
[[ -f $ENV_FILE ]] || die "$ENV_FILE does not exist: run 'scripts/stack.sh start $STACK' first"
set -a
# shellcheck source=/dev/null
. "$ENV_FILE"
set +a

# --- demo content hook -----------------------------------------------------------------------
# The demo catalog (generated ringtones, previews, games) and demo subscribers are loaded by
# scripts/demo_load.sh NAME, with this stack's environment exported. It must be idempotent:
# make run runs it every time.
if [[ -f scripts/demo_load.sh ]]; then
    bash scripts/demo_load.sh "$STACK" || die "scripts/demo_load.sh $STACK failed"
fi
# --- end of hook -----------------------------------------------------------------------------

: "${VASCTL:?missing from $ENV_FILE}"
read -ra ctl_cmd <<<"$VASCTL"
token=$("${ctl_cmd[@]}" token mint demo-user --ttl 86400 | tail -n 1) ||
    die "could not mint a demo token with: $VASCTL token mint demo-user --ttl 86400"

cat <<INFO

The $STACK stack is running.
  URL:          $VAS_BASE_URL   (try: curl $VAS_BASE_URL/healthz)
  environment:  $ENV_FILE   (KEY=value lines; secrets inside)
  admin CLI:    $VASCTL
  storefront:   $VAS_BASE_URL/#token=$token
                (what the IM's web view opens: the token rides in the URL fragment, never in a
                 query string, so it reaches no server log; phone width first)
  console:      $VAS_BASE_URL/console/   (finance/operator console; paste the admin key,
                 VAS_ADMIN_KEY in the environment file; the page keeps it in memory only)
  demo token:   $token
                (IM user demo-user, valid 24 h: curl -H "Authorization: Bearer \$TOKEN" $VAS_BASE_URL/v1/me)
  stop:         make stop    reset: make stop && rm -rf run/$STACK
INFO
