#!/usr/bin/env bash
# make lint: banned functions, clang-format, layering (includes point down the layers) and
# cppcheck (all fail), clang-tidy (report only; make it fail too with LINT_STRICT=1).
#
# LINT_TIDY=0   skip clang-tidy (it is the slow part)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$VAS_ROOT"

DIRS=(gateway billing catalog notify lobby store finance services ctl cmd tools tests/unit
    tests/fuzz)
strict=${LINT_STRICT:-0}
rc=0

existing=()
for d in "${DIRS[@]}"; do
    [[ -d $d ]] && existing+=("$d")
done
files=()
if ((${#existing[@]})); then
    mapfile -t files < <(find "${existing[@]}" -type f \( -name '*.c' -o -name '*.h' \) | sort)
fi
log "${#files[@]} C files"
((${#files[@]})) || exit 0

# 1. Banned functions (STYLE.md): unbounded or not thread-safe, each has a bounded replacement
#    (snprintf, memcpy with a length, strtok_r, strtol with end/errno checks, fgets).
banned='\b(sprintf|strcpy|strcat|strtok|atoi|gets)[[:space:]]*\('
if hits=$(grep -nE "$banned" "${files[@]}"); then
    log "banned functions (use snprintf, memcpy/strlcpy-style copies, strtok_r, strtol, fgets):"
    printf '%s\n' "$hits" | sed 's/^/    /' >&2
    rc=1
else
    log "banned functions: none"
fi

# 2. clang-format against .clang-format.
if command -v clang-format >/dev/null 2>&1 && [[ -f .clang-format ]]; then
    differ=()
    for f in "${files[@]}"; do
        clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || differ+=("$f")
    done
    if ((${#differ[@]})); then
        log "clang-format: ${#differ[@]} of ${#files[@]} files differ (clang-format -i FILE to fix):"
        printf '    %s\n' "${differ[@]}" >&2
        rc=1
    else
        log "clang-format: all files formatted"
    fi
fi

# 3. Layering (STYLE.md): a file may include headers of its own folder and of the layers below
#    it, never of a layer above nor of a peer. The table: folder, rank (lowest first). Peers share
#    a rank. A folder not created yet is simply not there.
LAYERS=(
    "gateway 0"
    "billing 1" "catalog 1" "notify 1" "lobby 1"
    "store 2"
    "finance 3"
    "services 4"
    "ctl 5" "cmd 5"
)
declare -A rank_of header_dir
for entry in "${LAYERS[@]}"; do
    read -r dir rank <<<"$entry"
    rank_of[$dir]=$rank
    [[ -d $dir ]] || continue
    for h in "$dir"/*.h; do
        [[ -e $h ]] && header_dir[$(basename "$h")]=$dir
    done
done
layer_hits=()
for f in "${files[@]}"; do
    fdir=${f%%/*}
    [[ -n ${rank_of[$fdir]:-} ]] || continue # tools/, tests/: may include anything
    while IFS= read -r inc; do
        hdir=${header_dir[$inc]:-}
        [[ -n $hdir && $hdir != "$fdir" ]] || continue
        if ((rank_of[$hdir] > rank_of[$fdir])); then
            layer_hits+=("$f includes $inc: $hdir/ is above $fdir/")
        elif ((rank_of[$hdir] == rank_of[$fdir])) && [[ $fdir != ctl && $fdir != cmd ]]; then
            layer_hits+=("$f includes $inc: $hdir/ is a peer of $fdir/")
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
if ((${#layer_hits[@]})); then
    log "layering: ${#layer_hits[@]} include(s) against the layers (STYLE.md):"
    printf '    %s\n' "${layer_hits[@]}" >&2
    rc=1
else
    log "layering: every include points down"
fi

# 4. cppcheck: bug patterns the compiler does not see (missing va_end, leaks, bad frees).
if command -v cppcheck >/dev/null 2>&1; then
    srcs=()
    for f in "${files[@]}"; do
        [[ $f == *.c && $f != tests/* ]] && srcs+=("$f")
    done
    if ! out=$(cppcheck --quiet --error-exitcode=1 --inline-suppr --std=c11 \
        --enable=warning,portability --suppress=missingIncludeSystem \
        -D_GNU_SOURCE -Igateway -Ibilling -Icatalog -Inotify -Ilobby -Istore -Ifinance \
        -Iservices "${srcs[@]}" 2>&1); then
        log "cppcheck: findings:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        rc=1
    else
        log "cppcheck: no findings"
    fi
fi

# 5. clang-tidy on the .c files, with the Makefile's flags.
if [[ ${LINT_TIDY:-1} == 1 ]] && command -v clang-tidy >/dev/null 2>&1; then
    checks='-*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters'
    checks+=',-bugprone-reserved-identifier,-bugprone-narrowing-conversions'
    checks+=',-bugprone-implicit-widening-of-multiplication-result'
    checks+=',-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling'
    read -ra cflags <<<"-std=c11 -D_GNU_SOURCE -Igateway -Ibilling -Icatalog -Inotify -Ilobby \
        -Istore -Ifinance -Iservices \
        $(pkg-config --cflags libmariadb hiredis libcjson libcurl openssl inih libxxhash 2>/dev/null)"
    warned=0
    for f in "${files[@]}"; do
        [[ $f == *.c ]] || continue
        if ! out=$(clang-tidy --quiet --checks="$checks" "$f" -- "${cflags[@]}" 2>/dev/null) ||
            grep -qE '(warning|error):' <<<"$out"; then
            warned=$((warned + 1))
            grep -E '(warning|error):' <<<"$out" | sed 's/^/    /' >&2 || true
        fi
    done
    if ((warned)); then
        log "clang-tidy: findings in $warned files (report only)"
        ((strict)) && rc=1
    else
        log "clang-tidy: no findings"
    fi
fi

exit "$rc"
