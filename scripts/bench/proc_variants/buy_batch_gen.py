#!/usr/bin/env python3
"""Prints the batch procedures of buy_batch.tmpl.sql (batch_cost.py installs them) (issue 8, batching measured):
{J:cols} is a JSON_TABLE over p_json with those columns (alias j), {M:cols} one over
the batch map v_map (alias m). Run: buy_batch_gen.py buy_batch.tmpl.sql"""
S = "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
COLS = [
    ("o", "FOR ORDINALITY", None),
    ("im", "VARCHAR(64) " + S, "im"), ("sid", "BIGINT UNSIGNED", "sid"),
    ("acct", "BIGINT UNSIGNED", "acct"), ("bk", "SMALLINT UNSIGNED", "bk"),
    ("a1", "BIGINT UNSIGNED", "a1"), ("l1", "BIGINT", "l1"),
    ("a2", "BIGINT UNSIGNED", "a2"), ("l2", "BIGINT", "l2"),
    ("it", "BIGINT UNSIGNED", "it"), ("kd", "VARCHAR(16) " + S, "kd"),
    ("ps", "INT", "ps"), ("dy", "INT", "dy"), ("am", "BIGINT", "am"), ("sa", "BIGINT", "sa"),
    ("cu", "CHAR(3) " + S, "cu"), ("pv", "BIGINT UNSIGNED", "pv"),
    ("psh", "BIGINT", "psh"), ("csh", "BIGINT", "csh"), ("sku", "VARCHAR(64) " + S, "sku"),
    ("fmt", "VARCHAR(16) " + S, "fmt"), ("n1", "CHAR(32) " + S, "n1"),
    ("ev", "CHAR(32) " + S, "ev"), ("cdr", "CHAR(32) " + S, "cdr"),
    ("pl", "VARCHAR(1000) " + S, "pl"), ("ac", "VARCHAR(80) " + S, "ac"),
    ("p", "BIGINT UNSIGNED", "p"), ("e", "BIGINT UNSIGNED", "e"), ("x", "DATETIME(3)", "x"),
    ("t", "BIGINT UNSIGNED", "t"), ("jo", "INT", "jo"),
]
def jt(src, names=None, alias="j"):
    out = []
    for n, t, p in COLS:
        if names is not None and n not in names and n != "o":
            continue
        out.append("%s %s" % (n, t) if p is None else "%s %s PATH '$.%s'" % (n, t, p))
    return "JSON_TABLE(%s, '$[*]' COLUMNS (%s)) %s" % (src, ", ".join(out), alias)
MAP = ("JSON_TABLE(v_map, '$[*]' COLUMNS (o INT PATH '$.o', p BIGINT UNSIGNED PATH '$.p', "
       "e BIGINT UNSIGNED PATH '$.e', x DATETIME(3) PATH '$.x', t BIGINT UNSIGNED PATH '$.t')) m")
import sys
t = open(sys.argv[1]).read()
t = t.replace("{J}", jt("p_json")).replace("{MAP}", MAP)
import re
t = re.sub(r"\{J:([a-z0-9,]+)\}", lambda mo: jt("p_json", mo.group(1).split(",")), t)
t = re.sub(r"\{M:([a-z0-9,]+)\}", lambda mo: jt("v_map", mo.group(1).split(","), "m"), t)
MF = ["im", "sid", "acct", "bk", "a1", "l1", "a2", "l2", "it", "am", "sa", "cu", "pv", "psh",
      "csh", "sku", "n1", "ev", "cdr", "pl", "ac"]
def obj(src, extra):
    parts = ["'%s', %s.%s" % (f, src, f) for f in MF] + ["'%s', %s" % kv for kv in extra]
    lines, cur = [], ""
    for p in parts:
        if len(cur) + len(p) > 80:
            lines.append(cur.rstrip())
            cur = ""
        cur += p + ", "
    lines.append(cur.rstrip(", "))
    return "JSON_OBJECT(" + ("\n        ".join(lines)) + ")"
t = t.replace("{OBJ1}", obj("j", [("p", "p.id"), ("e", "e.id"), ("x", "e.expires_at")]))
t = t.replace("{OBJ2}", obj("m", [("p", "m.p"), ("e", "m.e"), ("x", "m.x"), ("t", "t.id")]))
t = t.replace("{MALL}", jt("v_map", MF + ["p", "e", "x"], "m"))
t = t.replace("{JALL}", jt("p_json", MF))
sys.stdout.write(t)
