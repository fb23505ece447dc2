#!/usr/bin/env bash
# libFuzzer harnesses for every parser of outside input, under ASan + UBSan: the request, JSON
# and token parsers, the catalog feed importer, query strings and cursors, CDR days, the config
# file (tests/fuzz/fuzz_*.c, each says what it checks).
#
#   scripts/fuzz.sh [SECONDS]     (make fuzz, FUZZ_SECONDS; scripts/test.sh runs it with 20)
#   FUZZ_ONLY=feed scripts/fuzz.sh 600     one harness (by its short name) for the whole time
#
# Builds tests/fuzz/fuzz_*.c with clang -fsanitize=fuzzer,address,undefined against the gateway,
# billing, catalog (and finance, when present) sources compiled directly (no libvas.a, no
# services), into build-fuzz/, and splits SECONDS over the harnesses (at least 1 each). Seeds come from tests/fuzz/corpus/NAME/
# (committed); what the fuzzer learns goes to build-fuzz/corpus-NAME/ (kept between runs) and a
# crashing input to build-fuzz/artifacts/. Exit status non-zero if any harness failed to build or
# found a crash, leak, hang (-timeout) or sanitizer error. Last line: "fuzz: N passed, N failed".
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$VAS_ROOT"

total=${1:-${FUZZ_SECONDS:-60}}
[[ $total =~ ^[0-9]+$ ]] || die "usage: fuzz.sh [SECONDS]"
harnesses=()
for h in tests/fuzz/fuzz_*.c; do
    short=$(basename "${h%.c}")
    short=${short#fuzz_}
    [[ -z ${FUZZ_ONLY:-} || ,$FUZZ_ONLY, == *,$short,* ]] && harnesses+=("$h")
done
((${#harnesses[@]} > 0)) || die "no harness matches FUZZ_ONLY=$FUZZ_ONLY"
per=$((total / ${#harnesses[@]}))
((per >= 1)) || per=1
CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null || die "$CLANG not found (scripts/deps.sh installs clang)"

OUT=build-fuzz
mkdir -p "$OUT/obj" "$OUT/artifacts"
PKGS="libmariadb hiredis libcjson libcurl openssl inih libxxhash"
# shellcheck disable=SC2046 # pkg-config prints a list of words
CFLAGS=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -pthread
    -fsanitize=address,undefined -fno-sanitize-recover=all
    -Wall -Wextra -Werror -Wmissing-prototypes -Wno-missing-field-initializers
    -Igateway -Ibilling -Icatalog -Ifinance $(pkg-config --cflags $PKGS))
# shellcheck disable=SC2046
LIBS=($(pkg-config --libs $PKGS) -lfcgi -lcsv -lpthread -lm)

# The layers once, instrumented for coverage (fuzzer-no-link), rebuilt when a source is newer.
objs=()
shopt -s nullglob # finance/ may not exist yet
headers() { cat gateway/*.h billing/*.h catalog/*.h finance/*.h; }
for src in gateway/*.c billing/*.c catalog/*.c finance/*.c; do
    [[ -f $src ]] || continue
    obj=$OUT/obj/$(basename "${src%.c}").o
    if [[ ! -f $obj || $src -nt $obj ]] || ! cmp -s <(headers) "$OUT/obj/headers.stamp" 2>/dev/null; then
        "$CLANG" "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -c -o "$obj" "$src" || die "cannot compile $src"
    fi
    objs+=("$obj")
done
headers >"$OUT/obj/headers.stamp"

passed=0
failed=0
for harness in "${harnesses[@]}"; do
    name=$(basename "${harness%.c}")
    short=${name#fuzz_}
    bin=$OUT/$name
    printf '== %s (%ss)\n' "$name" "$per"
    if ! "$CLANG" "${CFLAGS[@]}" -fsanitize=fuzzer -o "$bin" "$harness" "${objs[@]}" "${LIBS[@]}"; then
        log "$name: build failed"
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "$OUT/corpus-$short"
    seeds=tests/fuzz/corpus/$short
    [[ -d $seeds ]] || seeds=
    rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$bin" "$OUT/corpus-$short" ${seeds:+"$seeds"} \
        -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -max_len="${FUZZ_MAX_LEN:-8192}" \
        -artifact_prefix="$OUT/artifacts/$name-" -print_final_stats=1 \
        >"$OUT/$name.log" 2>&1 || rc=$?
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|.*runtime error|.*Test unit written)' \
        "$OUT/$name.log" | sed 's/^/    /' || true
    if ((rc == 0)); then
        passed=$((passed + 1))
    else
        log "$name: failed (exit $rc); see $OUT/$name.log and $OUT/artifacts/"
        failed=$((failed + 1))
    fi
done

printf 'fuzz: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
