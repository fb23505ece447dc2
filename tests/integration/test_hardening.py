"""Hardening (issue 11): every input checked once, clean logs, HTTP edges.

A table-driven bad-input battery sends every kind of bad string (NUL,
invalid UTF-8 incl. overlongs, surrogates, > U+10FFFF, controls, over-long,
edge spaces, wrong types) in every string field of every route with a
body, in query strings, path parameters and the JWT sub, plus every body
with a wrong content type: each must be a 4xx problem+json, and nothing may
be written (row counts and balances compared before and after). Then the
log, the HTTP edges (415, WWW-Authenticate, Location, nginx's own answers
with the request id) and the NO PAD collations.
"""
import json
import os
import secrets
import socket
import stat
import time
from pathlib import Path

import pytest

from gw_helpers import jwt_raw
from conftest import (BASE, ENV, assert_problem, audit_clean, db_query, http,
                      new_msisdn, new_user)
from store_helpers import import_feed, make_feed, midi_bytes, write_file

LOG = Path(ENV.get("VAS_VASGW_LOG", "run/test/vasgw.log"))

# Tables a request may write; every bad request must leave their counts.
TABLES = ["subscribers", "accounts", "ledger_txns", "postings", "holds",
          "cdrs", "purchases", "entitlements", "refunds", "outbox",
          "webhook_events", "items", "item_assets", "admin_keys"]

PH = "@@BAD@@"  # replaced by the raw bytes of a bad value

# (name, raw JSON value bytes). Each is refused wherever a string goes.
BAD_STRINGS = [
    ("nul-escape", b'"midi\\u0000x"'),
    ("nul-only", b'"\\u0000"'),
    ("raw-ff", b'"a\xffb"'),
    ("overlong-2", b'"\xc0\xaf"'),
    ("overlong-3", b'"a\xe0\x80\xafb"'),
    ("overlong-4", b'"\xf0\x80\x80\xaf"'),
    ("surrogate", b'"a\xed\xa0\x80b"'),
    ("surrogate-lo", b'"\xed\xbf\xbf"'),
    ("above-10ffff", b'"\xf4\x90\x80\x80"'),
    ("five-byte", b'"\xf8\x88\x80\x80\x80"'),
    ("truncated", b'"\xe8\x8c"'),
    ("control-01", b'"a\\u0001b"'),
    ("control-raw", b'"a\x01b"'),
    ("newline", b'"a\\nb"'),
    ("del", b'"a\x7fb"'),
    ("c1-control", b'"a\\u0085b"'),
    ("too-long", b'"' + b"x" * 5000 + b'"'),
    ("too-long-cjk", b'"' + "\u8309".encode() * 300 + b'"'),
    ("empty", b'""'),
    ("lone-surrogate-escape", b'"\\ud800"'),
    ("number", b"12"),
    ("array", b'["midi"]'),
    ("object", b'{"a":"b"}'),
    ("bool", b"true"),
]
# Edge white space: the valid value with a space appended (built per field).
TRAILING = "trailing-space"




def counts():
    out = {t: db_query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in TABLES}
    out["balances"] = db_query("SELECT COALESCE(SUM(balance), 0),"
                               " COALESCE(SUM(held), 0), COUNT(*) FROM"
                               " accounts")[0]
    out["statuses"] = db_query("SELECT COUNT(*) FROM accounts WHERE status"
                               " = 'suspended'")[0][0]
    out["titles"] = db_query("SELECT COALESCE(SUM(CRC32(CONCAT(title, price,"
                             " status))), 0) FROM items")[0][0]
    return out


def raw_body(template: dict, field, value: bytes):
    """template as JSON with field's value replaced by raw bytes."""
    t = dict(template)
    t[field] = PH
    return json.dumps(t, ensure_ascii=False).encode().replace(
        json.dumps(PH).encode(), value)


@pytest.fixture(scope="module")
def world(admin_key):
    """A shop, a buyer with a purchase and a download link, a gift
    recipient; all made before the battery's snapshot."""
    feed, tag = make_feed(2, price=100, games=[("per_play", None)])
    import_feed(feed)
    rows = db_query("SELECT i.id, p.id FROM items i JOIN providers p ON"
                    " p.id = i.provider_id WHERE p.code = %s AND i.kind ="
                    " 'ringtone' ORDER BY i.id", (f"p-{tag}",))
    items, pid = [r[0] for r in rows], rows[0][1]
    game = db_query("SELECT i.id FROM items i JOIN providers p ON p.id ="
                    " i.provider_id WHERE p.code = %s AND i.kind = 'game'",
                    (f"p-{tag}",))[0][0]
    subs = []
    for _ in range(2):
        user, msisdn = new_user(), new_msisdn()
        r = http("POST", "/v1/admin/subscribers",
                 {"im_user_id": user, "msisdn": msisdn, "plan": "prepaid"},
                 token=admin_key)
        assert r.status == 201, r
        r = http("POST", f"/v1/admin/subscribers/{msisdn}/topups",
                 {"amount": 10000, "reference": "seed-" + user},
                 token=admin_key,
                 headers={"Idempotency-Key": secrets.token_hex(8)})
        assert r.status == 201, r
        tok = jwt_raw(json.dumps({"sub": user, "exp": int(time.time()) + 3600})
                      .encode())
        subs.append({"user": user, "msisdn": msisdn, "token": tok})
    buyer, friend = subs
    r = http("POST", "/v1/purchases", {"item_id": items[0]},
             token=buyer["token"],
             headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r
    p = r.json()
    f = write_file(f"t-{tag}/extra.mid", midi_bytes())
    owner = jwt_raw(json.dumps({"sub": new_user(),
                                "exp": int(time.time()) + 3600}).encode())
    r = http("POST", "/v1/lobbies", {"game_id": game}, token=owner)
    assert r.status == 201, r
    return {"items": items, "pid": pid, "tag": tag, "buyer": buyer,
            "friend": friend, "purchase": p, "asset": f["path"],
            "game": game, "owner": owner, "lobby": r.json()["id"]}


def routes(w, admin_key):
    """(name, method, path, token, idempotent, base body, string fields)."""
    b, tag = w["buyer"], w["tag"]
    item_base = {"kind": "ringtone", "sku": f"H{tag.upper()}-NEW",
                 "title": "Hardened", "artist": "Tester",
                 "provider_id": w["pid"], "category": f"t-{tag}",
                 "price": 10, "currency": "CNY", "preview_path": w["asset"],
                 "assets": [{"format": "midi", "path": w["asset"]}]}
    return [
        ("purchase", "POST", "/v1/purchases", b["token"], True,
         {"item_id": w["items"][1], "format": "midi",
          "gift_to": w["friend"]["user"]}, ["format", "gift_to"]),
        ("download-link", "POST",
         f"/v1/library/{w['purchase']['entitlement_id']}/download-links",
         b["token"], False, {"format": "midi"}, ["format"]),
        ("subscriber", "POST", "/v1/admin/subscribers", admin_key, False,
         {"im_user_id": new_user(), "msisdn": new_msisdn(),
          "plan": "prepaid"}, ["im_user_id", "msisdn", "plan"]),
        ("subscriber-patch", "PATCH",
         f"/v1/admin/subscribers/{w['friend']['msisdn']}", admin_key, False,
         {"status": "suspended"}, ["status"]),
        ("topup", "POST", f"/v1/admin/subscribers/{b['msisdn']}/topups",
         admin_key, True, {"amount": 500, "reference": "ref-" + tag},
         ["reference"]),
        ("refund", "POST", f"/v1/admin/purchases/{w['purchase']['id']}/refunds",
         admin_key, True, {"amount": 10, "reason": "customer asked"},
         ["reason"]),
        ("item", "POST", "/v1/admin/items", admin_key, False, item_base,
         ["kind", "sku", "title", "artist", "category", "currency",
          "preview_path"]),
        ("item-patch", "PATCH", f"/v1/admin/items/{w['items'][1]}", admin_key,
         False, {"title": "Renamed", "status": "active"}, ["title", "status"]),
        ("lobby", "POST", "/v1/lobbies", b["token"], False,
         {"game_id": w["game"], "name": "table", "visibility": "public"},
         ["name", "visibility"]),
        ("lobby-kick", "POST", f"/v1/lobbies/{w['lobby']}/kick", w["owner"],
         False, {"user_id": b["user"]}, ["user_id"]),
    ]


def send(method, path, token, idem, data, ctype="application/json"):
    h = {"Content-Type": ctype}
    if idem:
        h["Idempotency-Key"] = secrets.token_hex(8)
    return http(method, path, raw=data, headers=h, token=token)


def check_refused(r, what):
    assert 400 <= r.status < 500, (what, r)
    assert r.headers.get("content-type", "").startswith(
        "application/problem+json"), (what, r.headers)
    p = r.json()
    assert p["status"] == r.status and p["code"], (what, p)
    assert p["request_id"] == r.headers["x-request-id"], (what, p)
    return p


def test_bad_input_battery_writes_nothing(world, admin_key):
    """Every bad string in every field of every route is a 4xx problem and
    changes nothing. Catches: NUL truncation ("midi\\u0000x" buying the
    MIDI), invalid UTF-8 stored or answered with 500, a trailing space
    aliasing a user (gift_to "<user> "), wrong types accepted."""
    offset = LOG.stat().st_size
    before = counts()
    n = 0
    for name, method, path, token, idem, base, fields in routes(world,
                                                               admin_key):
        for field in fields:
            cases = list(BAD_STRINGS)
            if isinstance(base.get(field), str):
                cases.append((TRAILING,
                              json.dumps(base[field] + " ").encode()))
                cases.append(("leading-space",
                              json.dumps(" " + base[field]).encode()))
            for bad, value in cases:
                r = send(method, path, token, idem,
                         raw_body(base, field, value))
                check_refused(r, (name, field, bad))
                assert r.status != 500
                n += 1
        # The same valid-looking body as text/plain: 415, nothing read.
        r = send(method, path, token, idem, json.dumps(base).encode(),
                 ctype="text/plain")
        p = check_refused(r, (name, "content-type"))
        assert r.status == 415 and p["code"] == "unsupported_media_type"
        for ctype in ("application/x-www-form-urlencoded",
                      "application/jsonx", "text/json"):
            r = send(method, path, token, idem, json.dumps(base).encode(),
                     ctype=ctype)
            assert r.status == 415, (name, ctype, r)
        n += 4
    assert n > 400
    assert counts() == before
    ok, out = audit_clean()
    assert ok, out
    check_log_since(offset)


def test_bad_query_and_path_values(world, admin_key):
    """Query strings and path parameters: percent-encoded NUL, invalid
    UTF-8, over-long values, junk cursors and ids are 4xx, never 500."""
    before = counts()
    b = world["buyer"]
    bad_q = ["%00", "a%00b", "%ff", "%c0%af", "%ed%a0%80", "%f4%90%80%80",
             "%e8%8c", "x" * 3000, "%zz", "%", "a%0"]
    for v in bad_q:
        for path, token in (("/v1/catalog/items?q=", None),
                            ("/v1/catalog/items?cursor=", None),
                            ("/v1/catalog/items?category=", None),
                            ("/v1/catalog/items?kind=", None),
                            ("/v1/catalog/items?limit=", None),
                            ("/v1/purchases?cursor=", b["token"]),
                            ("/v1/library?cursor=", b["token"]),
                            ("/v1/notifications?cursor=", b["token"]),
                            ("/v1/admin/cdrs?from=", admin_key)):
            r = http("GET", path + v, token=token)
            assert r.status != 500, (path, v, r)
            if r.status >= 400:
                check_refused(r, (path, v))
    for v in ["%00", "1%00", "%ff", "1%20", "99999999999999999999", "-1",
              "0x10", "1.5"]:
        for path, token in (("/v1/catalog/items/", None),
                            ("/v1/purchases/", b["token"]),
                            ("/v1/admin/subscribers/", admin_key)):
            r = http("GET", path + v, token=token)
            assert 400 <= r.status < 500, (path, v, r)
    # An MSISDN with a trailing space is not the subscriber.
    r = http("GET", f"/v1/admin/subscribers/{b['msisdn']}%20", token=admin_key)
    assert r.status in (400, 404), r
    assert counts() == before


def test_jwt_sub_identifier_rule(world):
    """A sub of "<user>\\u0000x", "<user> ", with a control or invalid
    UTF-8 is 401 (it used to authenticate as <user>); the exact sub works."""
    u = world["buyer"]["user"]
    exp = int(time.time()) + 600
    good = jwt_raw(json.dumps({"sub": u, "exp": exp}).encode())
    assert http("GET", "/v1/me", token=good).status == 200
    bad = [json.dumps({"sub": u + "\u0000x", "exp": exp}).encode(),
           json.dumps({"sub": u + " ", "exp": exp}).encode(),
           json.dumps({"sub": " " + u, "exp": exp}).encode(),
           json.dumps({"sub": u + "\t", "exp": exp}).encode(),
           json.dumps({"sub": u + "\u00e9", "exp": exp},
                      ensure_ascii=False).encode(),
           b'{"sub":"' + u.encode() + b'\xed\xa0\x80","exp":%d}' % exp,
           b'{"sub":"' + u.encode() + b'\xff","exp":%d}' % exp]
    for payload in bad:
        r = http("GET", "/v1/me", token=jwt_raw(payload))
        p = assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer"), r.headers
        assert u not in json.dumps(p)


def test_gift_to_self_with_trailing_space_is_refused(world):
    """gift_to "<me> " was another user to the self-gift check but the
    buyer to a PAD SPACE lookup."""
    b = world["buyer"]
    before = counts()
    for g in (b["user"] + " ", b["user"] + "\u0000", world["friend"]["user"]
              + " "):
        r = http("POST", "/v1/purchases",
                 {"item_id": world["items"][1], "gift_to": g},
                 token=b["token"],
                 headers={"Idempotency-Key": secrets.token_hex(8)})
        assert_problem(r, 400, "invalid_request")
    assert counts() == before


IDENT_COLUMNS = ("im_user_id", "user_id", "owner_user_id", "buyer_user_id",
                 "recipient_user_id", "msisdn", "reference", "idem_key",
                 "scope", "key_hash", "sku", "code", "slug", "cdr_id",
                 "notif_id", "event_id", "lobby_id", "run_key", "format")


def test_identifiers_are_no_pad_everywhere():
    """Every identifier column (IM user ids, MSISDNs, references, keys,
    SKUs, codes) compares without padding, whichever migration made it: a
    new table copying COLLATE=utf8mb4_bin for an identifier fails here."""
    rows = db_query("SELECT table_name, column_name, collation_name FROM"
                    " information_schema.columns WHERE table_schema ="
                    " DATABASE() AND collation_name IS NOT NULL AND"
                    " table_name <> 'schema_migrations'")
    ident = [r for r in rows if r[1] in IDENT_COLUMNS]
    assert len(ident) > 15, ident
    pad = [r for r in ident if r[2] != "utf8mb4_nopad_bin"]
    assert pad == [], pad
    u = db_query("SELECT im_user_id FROM subscribers LIMIT 1")[0][0]
    assert db_query("SELECT COUNT(*) FROM subscribers WHERE im_user_id = %s",
                    (u + " ",))[0][0] == 0


def test_http_edges_401_415_location(world, admin_key):
    """401 carries WWW-Authenticate: Bearer; a 201 carries Location; a JSON
    body sent as text/plain is 415."""
    r = http("GET", "/v1/me")
    assert_problem(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == 'Bearer realm="vas"'
    r = http("GET", "/v1/me", token="garbage")
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    r = http("GET", "/v1/admin/cdrs?from=2026-01-01&to=2026-01-01",
             token="vasadm_nope")
    assert r.status == 401 and "www-authenticate" in r.headers
    b = world["buyer"]
    r = http("POST", "/v1/purchases", {"item_id": world["items"][1]},
             token=b["token"],
             headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r
    assert r.headers["location"] == f"/v1/purchases/{r.json()['id']}"
    assert http("GET", r.headers["location"], token=b["token"]).status == 200
    msisdn = new_msisdn()
    r = http("POST", "/v1/admin/subscribers",
             {"im_user_id": new_user(), "msisdn": msisdn, "plan": "prepaid"},
             token=admin_key)
    assert r.status == 201
    assert r.headers["location"] == f"/v1/admin/subscribers/{msisdn}"
    r = http("POST", f"/v1/library/{world['purchase']['entitlement_id']}"
             "/download-links", {"format": "midi"}, token=b["token"])
    assert r.status == 201 and r.headers["location"] == r.json()["url"]
    # Charset parameter and case are fine.
    r = send("POST", f"/v1/library/{world['purchase']['entitlement_id']}"
             "/download-links", b["token"], False, b'{"format":"midi"}',
             ctype="Application/JSON; charset=utf-8")
    assert r.status == 201, r


def raw_http(data: bytes, timeout=10):
    host, port = BASE.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in
               (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    return status, headers, body


def nginx_problem(status, headers, body, want):
    assert status == want, (status, body)
    assert headers["content-type"].startswith("application/problem+json")
    p = json.loads(body.decode())
    assert p["status"] == want and p["code"] and p["type"] != "about:blank"
    assert p["request_id"] == headers["x-request-id"]
    return p


def test_nginx_own_answers_are_problems_with_the_request_id(world):
    """416 on a bad Range, 405 for TRACE, 400 for an oversized header (494)
    and 413 for a huge body: problem+json with X-Request-Id, and the id of
    a download follows it from nginx to vasgw's log."""
    b = world["buyer"]
    link = http("POST", f"/v1/library/{world['purchase']['entitlement_id']}"
                "/download-links", {"format": "midi"}, token=b["token"]).json()
    rid = "hard-" + secrets.token_hex(6)
    r = http("GET", link["url"], headers={"Range": "bytes=999999-",
                                          "X-Request-Id": rid})
    assert r.status == 416, r
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["x-request-id"] == rid
    assert r.json()["request_id"] == rid and r.json()["status"] == 416
    r = http("GET", link["url"], headers={"X-Request-Id": rid + "b"})
    assert r.status == 200 and r.headers["x-request-id"] == rid + "b"
    # A bad incoming id is replaced by nginx's, the same one vasgw logs.
    r = http("GET", link["url"], headers={"X-Request-Id": "bad id"})
    got = r.headers["x-request-id"]
    assert got != "bad id" and len(got) == 32
    assert wait_for_log(lambda e: e.get("rid") == rid), rid
    assert wait_for_log(lambda e: e.get("rid") == got), got
    host = BASE.split("//")[1]
    nginx_problem(*raw_http(b"TRACE / HTTP/1.1\r\nHost: " + host.encode()
                            + b"\r\nConnection: close\r\n\r\n"), 405)
    nginx_problem(*raw_http(b"GET /v1/catalog/items HTTP/1.1\r\nHost: x\r\n"
                            b"X-Big: " + b"a" * 20000
                            + b"\r\nConnection: close\r\n\r\n"), 400)
    st, h, body = raw_http(b"POST /v1/purchases HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\n"
                           b"Content-Length: 5000000\r\n"
                           b"Connection: close\r\n\r\n{")
    nginx_problem(st, h, body, 413)
    nginx_problem(*raw_http(b"GET /v1/catalog/items HTTP/9.9\r\nHost: x\r\n"
                            b"\r\n"), 505)


def test_bench_locations_are_not_shipped():
    """/floor and /floor-tx (an unauthenticated DB write in the bench) are
    not routed by the shipped nginx template."""
    for path in ("/floor", "/floor-tx", "/bench/static.json"):
        r = http("GET", path)
        assert r.status == 404, (path, r)
    conf = (Path(__file__).resolve().parents[2] / "etc/nginx.conf.in"
            ).read_text()
    assert "location /floor" not in conf and "upstream floor" not in conf


def wait_for_log(pred, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        for line in LOG.read_bytes().splitlines():
            try:
                if pred(json.loads(line)):
                    return True
            except ValueError:
                continue
        time.sleep(0.2)
    return False


def check_log_since(offset):
    """Lines written since offset: valid UTF-8 JSON objects."""
    time.sleep(0.5)  # access lines are buffered up to 200 ms
    data = LOG.read_bytes()[offset:]
    assert data, "nothing logged"
    for line in data.splitlines():
        text = line.decode("utf-8")  # strict: raises on invalid UTF-8
        assert isinstance(json.loads(text), dict), text
    return data


def test_log_is_clean(world, admin_key):
    """The log is 0640, valid UTF-8 JSON, and holds no download token (a
    working credential), no MSISDN and no SQL values; the access line has
    the address, user agent and bytes."""
    assert stat.S_IMODE(os.stat(LOG).st_mode) & 0o007 == 0, oct(
        os.stat(LOG).st_mode)
    offset = LOG.stat().st_size
    b = world["buyer"]
    link = http("POST", f"/v1/library/{world['purchase']['entitlement_id']}"
                "/download-links", {"format": "midi"}, token=b["token"]).json()
    token = link["url"].rsplit("/", 1)[1]
    assert http("GET", link["url"],
                headers={"User-Agent": "hard-ua/1 \xe9"}).status == 200
    assert http("GET", link["url"] + "x").status in (404, 410)
    r = http("GET", f"/v1/admin/subscribers/{b['msisdn']}", token=admin_key)
    assert r.status == 200
    # Invalid UTF-8 in a path, a header and a body reach the log escaped.
    http("GET", "/v1/catalog/items/%ff%fe", headers={"User-Agent": "x"})
    send("POST", "/v1/admin/subscribers", admin_key, False,
         b'{"im_user_id":"\xff","msisdn":"1","plan":"x"}')
    # A duplicate reference makes MariaDB quote a value in its error.
    data = check_log_since(offset)
    assert token.encode() not in data
    assert b["msisdn"].encode() not in data
    assert b"INSERT INTO" not in data or b"'" not in data
    lines = [json.loads(x) for x in data.splitlines()]
    dl = [e for e in lines if e.get("route") == "/v1/downloads/{token}"]
    assert dl and all(e["path"] == "/v1/downloads/{token}" for e in dl)
    acc = [e for e in dl if e.get("ua", "").startswith("hard-ua/1")]
    assert acc and acc[0]["addr"] == "127.0.0.1"
    assert acc[0]["bytes_out"] >= 0 and "bytes_in" in acc[0]
    assert any(e.get("route") == "/v1/admin/subscribers/{msisdn}"
               and "*" in e["path"] for e in lines)


def test_client_caused_db_errors_are_4xx(world, admin_key):
    """Values that pass the reader but not the database (an unknown
    provider, a category of another kind) are 4xx, never 500."""
    tag = world["tag"]
    before = counts()
    base = {"kind": "ringtone", "sku": f"H{tag.upper()}-DB",
            "title": "x", "provider_id": 999999999, "category": f"t-{tag}",
            "price": 10, "assets": [{"format": "midi",
                                     "path": world["asset"]}]}
    r = http("POST", "/v1/admin/items", base, token=admin_key)
    check_refused(r, "unknown provider")
    r = http("POST", "/v1/admin/items", dict(base, provider_id=world["pid"],
                                            kind="game"), token=admin_key)
    check_refused(r, "game in a ringtone category")
    r = http("POST", "/v1/admin/items", dict(base, provider_id=world["pid"],
                                            price=10 ** 15), token=admin_key)
    check_refused(r, "price")
    assert counts() == before
