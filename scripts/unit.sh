#!/usr/bin/env bash
# Runs cmocka unit test binaries and sums their results.
#
#   scripts/unit.sh BIN...        (make unit, make asan, make valgrind)
#
# VALGRIND=1       run each binary under valgrind; leaks and memory errors fail it
# UNIT_COUNTS_FILE write "PASSED FAILED" there (scripts/test.sh adds them to its summary)
# UNIT_TIMEOUT     seconds one binary may run (default 300)
#
# Counts come from cmocka's own lines, summed over every group of every binary:
#   [  PASSED  ] N test(s).
#   [  FAILED  ] N test(s), listed below:
# A binary that exits non-zero without a FAILED count (crash, sanitizer or valgrind error)
# counts as one failed test. The last line is "unit: N passed, N failed".
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

timeout_s=${UNIT_TIMEOUT:-300}
runner=()
if [[ ${VALGRIND:-0} == 1 ]]; then
    runner=(valgrind --quiet --leak-check=full --error-exitcode=1
        "--errors-for-leak-kinds=definite,indirect" "--show-leak-kinds=definite,indirect")
fi
# cmocka prints its standard format only with this (not TAP/XML/subunit).
export CMOCKA_MESSAGE_OUTPUT=STDOUT

passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for bin in "$@"; do
    [[ -x $bin ]] || die "$bin is not an executable test binary"
    printf '== %s\n' "$bin"
    rc=0
    timeout "$timeout_s" "${runner[@]}" "$bin" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
    bin_passed=0
    bin_failed=0
    while IFS= read -r line; do
        if [[ $line =~ ^\[\ \ PASSED\ \ \]\ ([0-9]+)\ test ]]; then
            bin_passed=$((bin_passed + BASH_REMATCH[1]))
        elif [[ $line =~ ^\[\ \ FAILED\ \ \]\ ([0-9]+)\ test ]]; then
            bin_failed=$((bin_failed + BASH_REMATCH[1]))
        fi
    done <"$out"
    if ((rc != 0 && bin_failed == 0)); then
        if ((rc == 124)); then
            log "$bin: timed out after ${timeout_s}s"
        else
            log "$bin: exit status $rc (crash, sanitizer or valgrind error)"
        fi
        bin_failed=1
    fi
    passed=$((passed + bin_passed))
    failed=$((failed + bin_failed))
done

if [[ -n ${UNIT_COUNTS_FILE:-} ]]; then
    printf '%d %d\n' "$passed" "$failed" >"$UNIT_COUNTS_FILE"
fi
printf 'unit: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
