#!/usr/bin/env bash
# demo_content.sh OUTDIR — generate the demo catalog content store.
#
# Writes, for every tune of `bin/vas-ringgen list`:
#   OUTDIR/ringtones/<sku>.mid   Standard MIDI File (our own generator)
#   OUTDIR/ringtones/<sku>.amr   AMR-NB 12.2 kbit/s (generator + libopencore-amrnb)
#   OUTDIR/previews/<sku>.mp3    ~10 s preview (generator WAV -> lame)
# and one catalog feed per content provider (docs/catalog-feed.md):
#   OUTDIR/feed-dragon-tunes.json, OUTDIR/feed-jade-bell.json
# Load them with `vasctl catalog import OUTDIR/feed-<code>.json` (one at a time).
#
# Builds nothing: run `make bin/vas-ringgen` first. Deterministic and
# idempotent: a file newer than bin/vas-ringgen is kept, feeds are only
# replaced when their content changes, so a rerun is quick and byte-identical.
#
# Environment: VAS_RINGGEN (generator path), VAS_ALLOCATOR_URL (game
# allocator in the feeds), VAS_JOBS (parallel generator jobs, default nproc).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly RINGGEN="${VAS_RINGGEN:-$ROOT/bin/vas-ringgen}"
readonly ALLOCATOR_URL="${VAS_ALLOCATOR_URL:-http://127.0.0.1:18099/allocate}"
readonly PREVIEW_SECONDS=10
readonly PREVIEW_RATE=22050
readonly PREVIEW_KBPS=48
readonly JOBS="${VAS_JOBS:-$(nproc 2>/dev/null || echo 2)}"

die() { echo "demo_content: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: $0 OUTDIR"
[[ -x "$RINGGEN" ]] || die "$RINGGEN missing: run 'make bin/vas-ringgen'"
command -v lame >/dev/null || die "lame not installed (apt-get install lame)"
command -v sha256sum >/dev/null || die "sha256sum missing (coreutils)"

readonly OUT="$1"
mkdir -p "$OUT/ringtones" "$OUT/previews"
TMP="$(mktemp -d "$OUT/.tmp.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# category slug -> "SKU prefix|provider code|base price (fen)|display name"
declare -A CATEGORY=(
    [folk]="FOLK|dragon-tunes|200|民歌 Folk"
    [kids]="KIDS|dragon-tunes|100|儿歌 Kids"
    [festive]="FEST|dragon-tunes|200|节日 Festive"
    [classical]="CLAS|jade-bell|300|古典 Classical"
    [pop]="POP|jade-bell|150|流行 Pop"
    [casual]="|jade-bell||休闲 Casual"
    [cards]="|jade-bell||棋牌 Board & Cards"
)
readonly CATEGORY_ORDER=(folk kids festive classical pop casual cards)
readonly PROVIDERS=(dragon-tunes jade-bell)
declare -A PROVIDER_NAME=([dragon-tunes]="Dragon Tunes Studio" [jade-bell]="Jade Bell Media")
declare -A PROVIDER_SHARE_BP=([dragon-tunes]=7000 [jade-bell]=6500)

# sku|title|category|price|min|max|pricing|pass_days
readonly GAMES=(
    "GM-DDZ|斗地主 Dou Di Zhu|cards|100|3|3|per_play|null"
    "GM-XIANGQI|象棋 Xiangqi|cards|600|2|2|pass|7"
    "GM-TANK|坦克大战 Tank Battle|casual|50|2|4|per_play|null"
    "GM-SNAKE|贪吃蛇竞技场 Snake Arena|casual|1500|2|8|pass|30"
)

# A file is up to date when it is non-empty and newer than the generator.
fresh() { [[ -s "$1" && "$1" -nt "$RINGGEN" ]]; }

# gen_tune INDEX SKU: the three assets of one tune (each written atomically).
gen_tune() {
    local idx=$1 sku=$2
    local mid="$OUT/ringtones/$sku.mid" amr="$OUT/ringtones/$sku.amr"
    local mp3="$OUT/previews/$sku.mp3" wav="$TMP/$sku.wav"

    fresh "$mid" || "$RINGGEN" midi "$mid" "$idx"
    fresh "$amr" || "$RINGGEN" amr "$amr" "$idx"
    if ! fresh "$mp3"; then
        "$RINGGEN" wav "$wav" "$idx" "$PREVIEW_RATE" "$PREVIEW_SECONDS"
        lame --quiet -b "$PREVIEW_KBPS" -m m "$wav" "$mp3.tmp"
        rm -f "$wav"
        mv -f "$mp3.tmp" "$mp3"
    fi
}

json_str() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$s"
}

file_json() { # PATH (relative to OUT) -> "path", "bytes", "sha256" members
    local bytes sum
    bytes=$(stat -c %s "$OUT/$1")
    sum=$(sha256sum "$OUT/$1")
    printf '"path": "%s", "bytes": %s, "sha256": "%s"' "$1" "$bytes" "${sum%% *}"
}

asset_json() { printf '{"format": "%s", %s}' "$1" "$(file_json "$2")"; }

# ---- 1. assets, a few generator jobs at a time -------------------------
LIST="$("$RINGGEN" list)" || die "vas-ringgen list failed"
declare -A COUNT=()
ROWS=()      # idx|sku|title|artist|category|price
running=0
failed=0
while IFS=$'\t' read -r idx slug title artist cat _; do
    [[ -n "${CATEGORY[$cat]:-}" ]] || die "tune $idx ($slug): unknown category $cat"
    IFS='|' read -r prefix _ base _ <<<"${CATEGORY[$cat]}"
    COUNT[$cat]=$(( ${COUNT[$cat]:-0} + 1 ))
    sku=$(printf 'RT-%s-%03d' "$prefix" "${COUNT[$cat]}")
    price=$(( base + 50 * (idx % 3) ))
    ROWS+=("$idx|$sku|$title|$artist|$cat|$price")
    gen_tune "$idx" "$sku" &
    running=$((running + 1))
    if (( running >= JOBS )); then
        wait -n || failed=1
        running=$((running - 1))
    fi
done <<<"$LIST"
while (( running > 0 )); do
    wait -n || failed=1
    running=$((running - 1))
done
(( failed == 0 )) || die "asset generation failed"

# ---- 2. one feed per provider -------------------------------------------
write_feed() { # PROVIDER
    local code=$1 f="$TMP/feed-$1.json" sep="" row cat
    {
        printf '{\n  "feed_version": 1,\n'
        printf '  "provider": {"code": "%s", "name": %s, "revenue_share_bp": %s,\n' \
            "$code" "$(json_str "${PROVIDER_NAME[$code]}")" "${PROVIDER_SHARE_BP[$code]}"
        printf '               "webhook_url": null},\n'
        printf '  "categories": ['
        for cat in "${CATEGORY_ORDER[@]}"; do
            local prefix prov base name kind=ringtone
            IFS='|' read -r prefix prov base name <<<"${CATEGORY[$cat]}"
            [[ $prov == "$code" ]] || continue
            [[ -n $prefix ]] || kind=game
            printf '%s\n    {"slug": "%s", "name": %s, "kind": "%s"}' \
                "$sep" "$cat" "$(json_str "$name")" "$kind"
            sep=","
        done
        printf '\n  ],\n  "items": ['
        sep=""
        for row in "${ROWS[@]}"; do
            local idx sku title artist price prov
            IFS='|' read -r idx sku title artist cat price <<<"$row"
            IFS='|' read -r _ prov _ _ <<<"${CATEGORY[$cat]}"
            [[ $prov == "$code" ]] || continue
            printf '%s\n    {"sku": "%s", "kind": "ringtone", "title": %s, "artist": %s,\n' \
                "$sep" "$sku" "$(json_str "$title")" "$(json_str "$artist")"
            printf '     "category": "%s", "price": %s, "currency": "CNY",\n' "$cat" "$price"
            printf '     "assets": [%s,\n                %s],\n' \
                "$(asset_json midi "ringtones/$sku.mid")" \
                "$(asset_json amr "ringtones/$sku.amr")"
            printf '     "preview": {%s}}' "$(file_json "previews/$sku.mp3")"
            sep=","
        done
        if [[ $code == jade-bell ]]; then
            local g sku title price min max pricing days
            for g in "${GAMES[@]}"; do
                IFS='|' read -r sku title cat price min max pricing days <<<"$g"
                printf '%s\n    {"sku": "%s", "kind": "game", "title": %s, "artist": null,\n' \
                    "$sep" "$sku" "$(json_str "$title")"
                printf '     "category": "%s", "price": %s, "currency": "CNY",\n' "$cat" "$price"
                printf '     "min_players": %s, "max_players": %s, "pricing": "%s", "pass_days": %s,\n' \
                    "$min" "$max" "$pricing" "$days"
                printf '     "allocator_url": %s}' "$(json_str "$ALLOCATOR_URL")"
                sep=","
            done
        fi
        printf '\n  ]\n}\n'
    } >"$f"
    # Replace only on change, so a rerun leaves the feed (and its mtime) alone.
    if ! cmp -s "$f" "$OUT/feed-$code.json"; then
        mv -f "$f" "$OUT/feed-$code.json"
    fi
}

for p in "${PROVIDERS[@]}"; do
    write_feed "$p"
done

echo "demo_content: ${#ROWS[@]} ringtones, ${#GAMES[@]} games," \
    "feeds: $(for p in "${PROVIDERS[@]}"; do printf '%s ' "$OUT/feed-$p.json"; done)"
