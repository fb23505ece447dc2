#!/usr/bin/env bash
# make test: build, unit tests, a fresh private `test` stack, the integration tests against it,
# the browser tests (scripts/browser_test.sh: screenshots in run/test-results/browser/), a short
# fuzz run, and one closing line "tests: N passed, N failed" (unit + integration, and
# the fuzz run as one test when scripts/fuzz.sh exists). Exits non-zero if anything failed.
#
# PYTHON        interpreter for pytest (default /usr/bin/python3, Debian's, where deps.sh installs
#               python3-pytest; a pyenv/venv python3 earlier in PATH may not have it)
# PYTEST_ARGS   extra pytest arguments, e.g. PYTEST_ARGS="-k readyz -x"
# FUZZ_SECONDS  length of the fuzz run (default 20)
# KEEP_STACK=1  leave the test stack running afterwards (for debugging)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$VAS_ROOT"

if [[ -z ${PYTHON:-} ]]; then
    PYTHON=python3
    [[ -x /usr/bin/python3 ]] && PYTHON=/usr/bin/python3
fi
MAKE=${MAKE:-make}
STACK="test"
RESULTS=$VAS_ROOT/run/test-results # outside run/test, which is wiped below
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

passed=0
failed=0
add() {
    passed=$((passed + $1))
    failed=$((failed + $2))
}

# --- build and unit tests --------------------------------------------------------------------
"$MAKE" --no-print-directory all || die "build failed"
UNIT_COUNTS_FILE=$RESULTS/unit.counts "$MAKE" --no-print-directory unit || true
if [[ -s $RESULTS/unit.counts ]]; then
    read -r unit_passed unit_failed <"$RESULTS/unit.counts"
    add "$unit_passed" "$unit_failed"
else
    log "unit tests did not report (build of a test binary failed?)"
    add 0 1
fi

# --- a fresh test stack ----------------------------------------------------------------------
stack_stop() {
    [[ ${KEEP_STACK:-0} == 1 ]] && return 0
    scripts/stack.sh stop "$STACK" || true
}
trap stack_stop EXIT

scripts/stack.sh stop "$STACK"
rm -rf "run/$STACK"
stack_ok=1
scripts/stack.sh start "$STACK" || stack_ok=0

# --- integration tests -----------------------------------------------------------------------
junit_counts() {
    "$PYTHON" - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = failures = errors = skipped = 0
for s in suites:
    total += int(s.get("tests", 0))
    failures += int(s.get("failures", 0))
    errors += int(s.get("errors", 0))
    skipped += int(s.get("skipped", 0))
print(total - failures - errors - skipped, failures + errors)
EOF
}

if ((stack_ok == 0)); then
    log "the test stack did not start: integration tests not run"
    add 0 1
elif [[ ! -d tests/integration ]]; then
    log "no tests/integration: no integration tests"
else
    set -a
    # shellcheck source=/dev/null
    . "run/$STACK/stack.env"
    set +a
    py_rc=0
    # shellcheck disable=SC2086 # PYTEST_ARGS is a list of words on purpose
    PYTHONDONTWRITEBYTECODE=1 timeout "${PYTEST_TIMEOUT:-2400}" \
        "$PYTHON" -m pytest -q -p no:cacheprovider --junitxml="$RESULTS/pytest.xml" \
        ${PYTEST_ARGS:-} tests/integration || py_rc=$?
    if ((py_rc == 5)); then
        log "tests/integration has no tests yet"
    elif [[ -s $RESULTS/pytest.xml ]] && counts=$(junit_counts "$RESULTS/pytest.xml"); then
        # shellcheck disable=SC2086 # "passed failed"
        add $counts
        # pytest failed without a failed test (internal or usage error): still a failure.
        if ((py_rc != 0)) && [[ ${counts#* } == 0 ]]; then
            add 0 1
        fi
    else
        log "pytest exited with status $py_rc and wrote no results"
        add 0 1
    fi
fi
# --- browser tests: the storefront and console in chromium (scripts/browser_test.sh) --------
if ((stack_ok == 1)) && [[ -d tests/browser ]]; then
    BROWSER_COUNTS_FILE=$RESULTS/browser.counts VAS_TEST_RESULTS=$RESULTS \
        bash scripts/browser_test.sh "$STACK" || true
    if [[ -s $RESULTS/browser.counts ]]; then
        read -r browser_passed browser_failed <"$RESULTS/browser.counts"
        add "$browser_passed" "$browser_failed"
    else
        log "the browser tests did not report"
        add 0 1
    fi
fi
stack_stop

# --- a short fuzz run (ASan/UBSan) -----------------------------------------------------------
if [[ -f scripts/fuzz.sh ]]; then
    if bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"; then
        add 1 0
    else
        log "fuzz run failed"
        add 0 1
    fi
fi

printf 'tests: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
