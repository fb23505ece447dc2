#!/usr/bin/env bash
# The browser tests (tests/browser/): Debian's chromium, headless, driven by playwright-core from
# npm, against a running stack's storefront (/) and console (/console/). make test runs it with
# the test stack; by hand, against a kept stack:
#
#   VAS_PORT_OFFSET=N scripts/stack.sh start test && scripts/browser_test.sh test
#
# Loads the demo catalog into the stack (real MIDI ringtones and MP3 previews; idempotent),
# installs playwright-core exactly as tests/browser/package-lock.json pins it (npm ci, into the
# git-ignored tests/browser/node_modules), runs every tests/browser/*.test.js with node's test
# runner, saves screenshots (phone width) under run/test-results/browser/ and writes
# "passed failed" to $BROWSER_COUNTS_FILE when set. Exits non-zero when anything failed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$VAS_ROOT"

STACK=${1:-test}
RESULTS=${VAS_TEST_RESULTS:-$VAS_ROOT/run/test-results}
export VAS_BROWSER_ARTIFACTS=$RESULTS/browser
COUNTS=${BROWSER_COUNTS_FILE:-}
rm -rf "$VAS_BROWSER_ARTIFACTS"
mkdir -p "$VAS_BROWSER_ARTIFACTS"

report() { # PASSED FAILED
    [[ -n $COUNTS ]] && printf '%s %s\n' "$1" "$2" >"$COUNTS"
    return 0
}

export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "browser tests need $CHROMIUM, node and npm (scripts/deps.sh installs them)"
    report 0 1
    exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
    log "browser tests need Node.js 20 or newer (playwright-core); this is $(node --version)"
    report 0 1
    exit 1
fi

ENV_FILE=run/$STACK/stack.env
[[ -f $ENV_FILE ]] || die "$ENV_FILE does not exist: start the $STACK stack first"
set -a
# shellcheck source=/dev/null
. "$ENV_FILE"
set +a

log "browser tests: loading the demo catalog into the $STACK stack"
if ! bash scripts/demo_load.sh "$STACK" >"$RESULTS/browser-demo-load.log" 2>&1; then
    tail_log "$RESULTS/browser-demo-load.log"
    report 0 1
    exit 1
fi

# Exactly the lockfile's versions; the npm cache makes a rerun work without the registry.
if ! (cd tests/browser && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) \
    >"$RESULTS/browser-npm.log" 2>&1; then
    tail_log "$RESULTS/browser-npm.log"
    report 0 1
    exit 1
fi

rc=0
(
    cd tests/browser
    timeout "${BROWSER_TEST_TIMEOUT:-1800}" node --test --test-concurrency=1 \
        --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$RESULTS/browser.tap" \
        ./*.test.js
) || rc=$?

pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$RESULTS/browser.tap" 2>/dev/null | tail -n 1)
fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$RESULTS/browser.tap" 2>/dev/null | tail -n 1)
if [[ -z $pass || -z $fail ]]; then
    log "the browser tests did not report (status $rc)"
    report 0 1
    exit 1
fi
# the runner failed without a failed test (a crash, a timeout): still a failure
((rc != 0 && fail == 0)) && fail=1
report "$pass" "$fail"
log "browser tests: $pass passed, $fail failed; screenshots in $VAS_BROWSER_ARTIFACTS"
((fail == 0))
