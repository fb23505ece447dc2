#!/usr/bin/env bash
# Smoke test of bin/vas-ringgen (build it first: make bin/vas-ringgen).
# Every tune renders a MIDI file that a strict chunk/event walker accepts, the
# WAV and AMR containers are well formed and last as long as `list` says,
# output is deterministic, and bad arguments fail without leaving files.
# Ends with "N passed, N failed"; exit status 1 if anything failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RINGGEN="${VAS_RINGGEN:-$ROOT/bin/vas-ringgen}"
[[ -x "$RINGGEN" ]] || { echo "missing $RINGGEN (make bin/vas-ringgen)" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

pass=0 fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok; else bad "$what"; fi; }

# Walk an SMF: MThd, N MTrk chunks, VLQ deltas, running status, meta/sysex,
# every track ends with FF 2F 00 exactly at its chunk end, notes balanced.
cat >"$TMP/midi_check.py" <<'EOF'
import struct, sys

def vlq(d, i):
    v = 0
    for _ in range(4):
        b = d[i]; i += 1
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            return v, i
    raise ValueError("VLQ longer than 4 bytes")

def check(path, min_s, max_s):
    d = open(path, "rb").read()
    assert d[:4] == b"MThd" and struct.unpack(">I", d[4:8])[0] == 6, "MThd"
    fmt, ntrk, div = struct.unpack(">HHH", d[8:14])
    assert fmt in (0, 1) and ntrk >= 1 and 0 < div < 0x8000, "header"
    i, tempo, end_ticks, notes = 14, None, 0, 0
    for _ in range(ntrk):
        assert d[i:i+4] == b"MTrk", "MTrk at %d" % i
        ln = struct.unpack(">I", d[i+4:i+8])[0]
        j, end, t, status, on, eot = i + 8, i + 8 + ln, 0, None, {}, False
        while j < end:
            assert not eot, "events after end of track"
            delta, j = vlq(d, j); t += delta
            if d[j] & 0x80:
                status = d[j]; j += 1
            assert status is not None, "running status without status"
            hi = status & 0xF0
            if status == 0xFF:
                typ = d[j]; ln2, j = vlq(d, j + 1); data = d[j:j+ln2]; j += ln2
                if typ == 0x51: tempo = int.from_bytes(data, "big")
                if typ == 0x2F: eot = True
            elif status in (0xF0, 0xF7):
                ln2, j = vlq(d, j); j += ln2
            elif hi in (0xC0, 0xD0):
                j += 1
            else:
                k, v = d[j], d[j+1]; j += 2
                assert k < 128 and v < 128, "data byte"
                key = (status & 0x0F, k)
                if hi == 0x90 and v > 0:
                    assert key not in on, "overlapping note"; on[key] = t; notes += 1
                elif hi == 0x80 or (hi == 0x90 and v == 0):
                    assert key in on, "note off without on"; del on[key]
        assert j == end and eot and not on, "track end"
        end_ticks = max(end_ticks, t)
        i = end
    assert i == len(d), "trailing bytes"
    assert tempo and notes > 0, "tempo/notes"
    secs = end_ticks / div * tempo / 1e6
    assert min_s <= secs <= max_s, "duration %.1f s" % secs
    return secs

# argv: MIN_S MAX_S FILE...; one line "ok FILE" or "bad FILE: why" each.
for path in sys.argv[3:]:
    try:
        check(path, float(sys.argv[1]), float(sys.argv[2]))
        print("ok", path)
    except Exception as e:
        print("bad %s: %r" % (path, e))
EOF

LIST="$("$RINGGEN" list)" || { echo "list failed" >&2; exit 1; }
n=$(wc -l <<<"$LIST")
check "at least 30 tunes" test "$n" -ge 30
check "at least 4 categories" test "$(cut -f5 <<<"$LIST" | sort -u | wc -l)" -ge 4
check "slugs unique" test "$(cut -f2 <<<"$LIST" | sort -u | wc -l)" -eq "$n"

mids=()
while IFS=$'\t' read -r idx slug _ _ _ _ secs _; do
    mids+=("$TMP/$idx.mid")
    check "midi $idx $slug" "$RINGGEN" midi "$TMP/$idx.mid" "$idx"
    check "list duration $idx" awk -v s="$secs" 'BEGIN { exit !(s >= 15 && s <= 30) }'
done <<<"$LIST"
while read -r verdict rest; do
    if [[ $verdict == ok ]]; then ok; else bad "midi walk $rest"; fi
done < <(python3 "$TMP/midi_check.py" 14.9 30.1 "${mids[@]}")

# WAV: RIFF header fields and length (list seconds + release tail).
check "wav 0" "$RINGGEN" wav "$TMP/a.wav" 0
check "wav header" python3 - "$TMP/a.wav" "$(cut -f7 <<<"$LIST" | head -1)" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:4] == b"RIFF" and d[8:16] == b"WAVEfmt "
fmt, ch, rate, brate, align, bits = struct.unpack("<HHIIHH", d[20:36])
assert (fmt, ch, rate, bits) == (1, 1, 22050, 16) and brate == rate * 2
n = struct.unpack("<I", d[40:44])[0]
assert len(d) == 44 + n and struct.unpack("<I", d[4:8])[0] == 36 + n
secs = n / 2 / rate
assert abs(secs - float(sys.argv[2]) - 0.6) < 0.2, secs
EOF
check "wav preview" "$RINGGEN" wav "$TMP/p.wav" 3 8000 10
check "preview is 10 s at 8000 Hz" test "$(stat -c %s "$TMP/p.wav")" -eq $((44 + 8000 * 2 * 10))

# AMR-NB: magic, then 20 ms MR122 frames (TOC 0x3C, 32 bytes each).
check "amr 0" "$RINGGEN" amr "$TMP/a.amr" 0
check "amr frames" python3 - "$TMP/a.amr" "$(cut -f7 <<<"$LIST" | head -1)" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
assert d[:6] == b"#!AMR\n"
body = d[6:]
assert len(body) % 32 == 0 and all(body[i] == 0x3C for i in range(0, len(body), 32))
secs = len(body) / 32 * 0.02
assert abs(secs - float(sys.argv[2]) - 0.6) < 0.2, secs
EOF

# Deterministic output.
check "midi rerun" "$RINGGEN" midi "$TMP/b.mid" 0
check "amr rerun" "$RINGGEN" amr "$TMP/b.amr" 0
check "midi deterministic" cmp "$TMP/0.mid" "$TMP/b.mid"
check "amr deterministic" cmp "$TMP/a.amr" "$TMP/b.amr"

# Bad input: non-zero exit, no output or temporary file left behind.
for args in "midi $TMP/x.mid $n" "midi $TMP/x.mid -1" "midi $TMP/x.mid 1x" \
    "wav $TMP/x.wav 0 100" "wav $TMP/x.wav 0 22050 0" "amr $TMP/x.amr" "nope" \
    "midi $TMP/no/such/dir/x.mid 0"; do
    # shellcheck disable=SC2086
    if "$RINGGEN" $args 2>/dev/null; then bad "accepted: $args"; else ok; fi
done
check "nothing left behind" test -z "$(find "$TMP" -name 'x.*')"

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
