"""Hardening, session 8: what hostile and ordinary users found (each test
names the bug it was written against and failed on before its fix).

The rule throughout: bad input is a clear problem+json answer and changes
nothing (row counts, balances, Redis, the audit).
"""
import json
import secrets
import time

import pytest

from gw_helpers import jwt_raw
from conftest import ENV, assert_problem, audit_clean, db_query, http
from store_helpers import feed_items




def money_state(msisdn):
    """What a refused money request must leave as it was."""
    acct = db_query("SELECT a.balance, a.held FROM accounts a JOIN"
                    " subscribers s ON s.account_id = a.id WHERE s.msisdn"
                    " = %s", (msisdn,))[0]
    rows = db_query("SELECT (SELECT COUNT(*) FROM purchases),"
                    " (SELECT COUNT(*) FROM ledger_txns),"
                    " (SELECT COUNT(*) FROM idempotency_keys)")[0]
    return acct, rows


@pytest.fixture(scope="module")
def shop():
    items, _ = feed_items(2, 100)
    return items


# --- JSON: a member named twice -----------------------------------------------------------


def test_duplicate_member_names_are_refused(subscriber, admin_key, shop):
    """{"item_id": A, "item_id": B} bought A (cJSON answers the first
    member); a proxy, a WAF or a log that reads the last saw B, and a
    top-up's {"amount": 1, ..., "amount": 100000} was 1 to the gateway and
    100000 to the audit trail. Now every object with a repeated member
    name, at any depth and however many members, is a 400 that charges
    nothing."""
    sub = subscriber(balance=1000)
    before = money_state(sub["msisdn"])
    a, b = shop
    junk = ",".join(f'"x{i}":{i}' for i in range(40))
    cases = [
        ("/v1/purchases", sub["token"],
         f'{{"item_id":{a},"item_id":{b}}}'),
        ("/v1/purchases", sub["token"],
         f'{{"item_id":{a},{junk},"item_id":{a}}}'),       # > pairwise size
        ("/v1/purchases", sub["token"],
         f'{{"item_id":{a},"extra":{{"k":1,"k":2}}}}'),      # nested
        (f"/v1/admin/subscribers/{sub['msisdn']}/topups", admin_key,
         '{"amount":1,"reference":"dup-%s","amount":100000}'
         % secrets.token_hex(4)),
    ]
    for path, token, body in cases:
        r = http("POST", path, raw=body.encode(), token=token,
                 headers={"Idempotency-Key": secrets.token_hex(8)})
        p = assert_problem(r, 400, "invalid_request")
        assert "twice" in p["detail"], p
    r = http("PATCH", f"/v1/admin/subscribers/{sub['msisdn']}",
             raw=b'{"caps":{"daily":100,"daily":0}}', token=admin_key)
    assert_problem(r, 400, "invalid_request")
    assert money_state(sub["msisdn"]) == before
    # Many distinct members are fine (unknown fields are ignored).
    r = http("POST", "/v1/purchases",
             raw=f'{{"item_id":{a},{junk}}}'.encode(), token=sub["token"],
             headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r
    ok, out = audit_clean()
    assert ok, out


def test_jwt_with_a_claim_named_twice_is_refused(subscriber):
    """A token {"sub": "<victim>", "sub": "<me>"} authenticated as the
    victim (the first sub) where the issuer's library may have meant the
    last; RFC 7519 section 4 says such a JWT is refused."""
    victim, other = subscriber(), subscriber()
    exp = int(time.time()) + 600
    good = jwt_raw(json.dumps({"sub": victim["user"], "exp": exp}).encode())
    assert http("GET", "/v1/me", token=good).status == 200
    for payload in (
            '{"sub":"%s","sub":"%s","exp":%d}' % (victim["user"],
                                                   other["user"], exp),
            '{"sub":"%s","exp":%d,"exp":%d}' % (victim["user"], exp, exp)):
        r = http("GET", "/v1/me", token=jwt_raw(payload.encode()))
        assert_problem(r, 401, "unauthorized")


# --- lobbies ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def games():
    from lobby_helpers import Catalog, FakeAllocator
    fa = FakeAllocator().start()
    yield Catalog(fa)
    fa.stop()


def test_invite_names_each_user_once(games):
    """{"user_ids": [B, B, ... 16 times]} sent B sixteen lobby.invited
    notifications from one request (a spam amplifier: 16 pushes per
    call). A user named twice is invited, and told, once."""
    from lobby_helpers import User, create, inbox_types
    owner, b, c = User(), User(), User()
    r = create(owner, games.game8)
    assert r.status == 201, r
    lid = r.json()["id"]
    r = owner.call("POST", f"/v1/lobbies/{lid}/invite",
                   {"user_ids": [b.user] * 15 + [c.user]})
    assert r.status == 202, r
    time.sleep(0.3)
    assert inbox_types(b.user).count("lobby.invited") == 1
    assert inbox_types(c.user).count("lobby.invited") == 1


# --- reconciliation ------------------------------------------------------------------------

RECON_HEADER = b"cdr_id,msisdn,amount,currency,billed_at\r\n"


def reconcile(path, day, tmp_path):
    import os
    import shlex
    import subprocess
    cmd = shlex.split(ENV["VASCTL"]) + [
        "reconcile", "--carrier-file", os.fsdecode(path), "--date", day,
        "--report", str(tmp_path / "report.csv")]
    return subprocess.run(cmd, capture_output=True, timeout=120)


def day_rows(day):
    return (db_query("SELECT COUNT(*) FROM cdr_days WHERE day = %s",
                     (day,))[0][0],
            db_query("SELECT COUNT(*) FROM recon_runs WHERE day = %s",
                     (day,))[0][0])


def test_unusable_carrier_file_leaves_the_day_open(tmp_path):
    """docs/reconciliation.md: an unusable file is "refused before anything
    is stored (exit 2, nothing in the database)". vasctl closed the day
    first, so a mistyped path, an empty file or a wrong header froze the
    day (cdr_days row, closed_by vasctl) before being refused."""
    from fin_helpers import add_cdrs, free_day
    day = free_day()
    cid = add_cdrs(day, [{"amount": 100}])[0]
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header = tmp_path / "header.csv"
    header.write_bytes(b"cdr_id;msisdn;amount;currency;billed_at\r\n")
    huge = tmp_path / "huge.csv"
    huge.write_bytes(RECON_HEADER + b'x,1,1,CNY,"' + b"y" * 5000 + b'"\r\n')
    for path in (tmp_path / "missing.csv", empty, header, huge):
        p = reconcile(path, day, tmp_path)
        assert p.returncode == 2, (path, p.stderr)
        assert day_rows(day) == (0, 0), path
    good = tmp_path / "good.csv"
    good.write_bytes(RECON_HEADER + f"{cid},8613800000000,100,CNY,t\r\n"
                     .encode())
    p = reconcile(good, day, tmp_path)
    assert p.returncode == 0, p.stderr
    assert day_rows(day) == (1, 1)


def test_carrier_file_name_that_is_not_utf8(tmp_path):
    """A carrier file named with a Latin-1 byte (b"billed-caf\\xe9.csv",
    as a Windows share hands it over) failed after the day was closed:
    MariaDB refused the name for recon_runs.file_name and vasctl said only
    "Invalid request". The name is stored with U+FFFD for the bad byte."""
    from fin_helpers import add_cdrs, free_day
    day = free_day()
    cid = add_cdrs(day, [{"amount": 100}])[0]
    path = bytes(tmp_path) + b"/billed-caf\xe9.csv"
    with open(path, "wb") as f:
        f.write(RECON_HEADER + f"{cid},8613800000000,100,CNY,t\r\n"
                .encode())
    p = reconcile(path, day, tmp_path)
    assert p.returncode == 0, p.stderr
    name = db_query("SELECT file_name FROM recon_runs WHERE day = %s",
                    (day,))[0][0]
    assert name == "billed-caf\ufffd.csv"
    r = http("GET", "/v1/admin/reconciliations?limit=5",
             token=ENV["VAS_ADMIN_KEY"])
    assert r.status == 200 and any(i["file_name"] == name
                                   for i in r.json()["items"]), r


def test_unclosed_quote_at_end_of_file_is_refused(tmp_path):
    """A quote opened and never closed swallows every line after it into
    one field. Past 4,096 bytes that is refused as unusable, but a short
    tail was taken in silently: the record with the quote read as billed
    (its billed_at holding the lines below), the lines it swallowed
    vanished (their CDRs reported charged_not_billed) and the run was
    stored. An unclosed quote at the end of the file is now unusable
    however short, with the line where its record starts."""
    from fin_helpers import add_cdrs, free_day
    day = free_day()
    a, b, c = add_cdrs(day, [{"amount": 100}, {"amount": 7},
                             {"amount": 9}])
    f = tmp_path / "unclosed.csv"
    f.write_bytes(RECON_HEADER
                  + f"{a},8613800000000,100,CNY,t\r\n".encode()
                  + f'{b},8613800000000,7,CNY,"t\r\n'.encode()
                  + f"{c},8613800000000,9,CNY,t\r\n".encode())
    p = reconcile(f, day, tmp_path)
    assert p.returncode == 2, p
    assert b"quote" in p.stderr and b"line 3" in p.stderr, p.stderr
    assert day_rows(day) == (0, 0)
    # A quoted field that does close, over two lines, is one record.
    f.write_bytes(RECON_HEADER
                  + f"{a},8613800000000,100,CNY,t\r\n".encode()
                  + f'{b},8613800000000,7,CNY,"t\r\nlate"\r\n'.encode()
                  + f"{c},8613800000000,9,CNY,t".encode())
    p = reconcile(f, day, tmp_path)
    assert p.returncode == 0, p


# --- HTTP --------------------------------------------------------------------------------


def test_status_lines_carry_their_reason_phrase(subscriber):
    """A 415 went out as "HTTP/1.1 415 Client Error" (vasgw's reason table
    had no 415, and nginx passes the FastCGI Status line on as it is)."""
    import socket
    sub = subscriber()
    host, port = ENV["VAS_BASE_URL"].split("//")[1].split(":")
    req = ("POST /v1/lobbies HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           f"Authorization: Bearer {sub['token']}\r\n"
           "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(req.encode())
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    assert out.split(b"\r\n", 1)[0] == b"HTTP/1.1 415 Unsupported Media Type"


def test_numbers_outside_the_json_grammar_are_refused(subscriber, shop):
    """cJSON reads numbers with strtod, so 0<id> (a leading zero, octal to
    some parsers), "<id>." and "<id>.e0" bought the item; none of them is
    JSON (RFC 8259 section 6). They are 400 and charge nothing; exponents
    with leading zeros and the valid forms stay accepted."""
    sub = subscriber(balance=1000)
    before = money_state(sub["msisdn"])
    item = shop[1]
    for num in (f"0{item}", f"00{item}", f"{item}.", f"{item}.e0",
                f"{item}e", f"{item}.5.5", f"-0{item}", f"{item}e+-1"):
        r = http("POST", "/v1/purchases",
                 raw=f'{{"item_id":{num}}}'.encode(), token=sub["token"],
                 headers={"Idempotency-Key": secrets.token_hex(8)})
        assert_problem(r, 400, "invalid_request")
    assert money_state(sub["msisdn"]) == before
    r = http("POST", "/v1/lobbies", raw=b'{"game_id":0,"x":[0,-0,0.5,1E+02,'
             b'1e-07,-1.0e0]}', token=sub["token"])
    p = assert_problem(r, 400, "invalid_request")
    assert "game_id" in p["detail"], p        # read, and refused by value
    r = http("POST", "/v1/purchases",
             raw=f'{{"item_id":{item}.0e00}}'.encode(), token=sub["token"],
             headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r


def raw_request(head: bytes, body: bytes = b""):
    import socket
    host, port = ENV["VAS_BASE_URL"].split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head + body)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_two_idempotency_keys_are_refused(subscriber, shop):
    """A purchase with two Idempotency-Key lines ran under the first
    (nginx 1.22 passes each line to FastCGI, vasgw read the first), while
    a cache or client library keyed on the last believed another key
    covered it. Two keys are a 400 that charges nothing."""
    sub = subscriber(balance=1000)
    before = money_state(sub["msisdn"])
    body = f'{{"item_id":{shop[0]}}}'.encode()
    for keys in ((b"A", b"B"), (b"A", b"A")):
        k = secrets.token_hex(6).encode()
        head = (b"POST /v1/purchases HTTP/1.1\r\nHost: x\r\n"
                b"Connection: close\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + sub["token"].encode() + b"\r\n"
                b"Content-Length: %d\r\n" % len(body)
                + b"".join(b"Idempotency-Key: " + k + x + b"\r\n"
                           for x in keys) + b"\r\n")
        status, out = raw_request(head, body)
        assert status == 400, out
        assert b"Idempotency-Key" in out, out
    assert money_state(sub["msisdn"]) == before


def test_lobby_201_carries_its_location(games):
    """POST /v1/lobbies answered 201 without Location, so by RFC 9110 the
    new resource was /v1/lobbies itself (every other 201 of the API names
    what it made: test_hardening.py's test_http_edges_401_415_location)."""
    from lobby_helpers import User, create
    u = User()
    r = create(u, games.game8)
    assert r.status == 201, r
    assert r.headers.get("location") == f"/v1/lobbies/{r.json()['id']}", \
        r.headers
    assert u.call("GET", r.headers["location"]).status == 200


def test_query_limits_say_which_limit():
    """A search for 600 CJK characters (5,400 bytes percent-encoded) or a
    page link with 40 parameters was answered "malformed query string",
    though nothing in it was malformed: the detail now names the limit
    (GW_QUERY_BYTES_MAX, GW_QUERY_ARGS_MAX) that refused it."""
    r = http("GET", "/v1/catalog/items?q=" + "%e4%b8%ad" * 600)
    p = assert_problem(r, 400, "invalid_request")
    assert "2048" in p["detail"], p
    r = http("GET", "/v1/catalog/items?" + "&".join(f"x{i}=1"
                                                    for i in range(40)))
    p = assert_problem(r, 400, "invalid_request")
    assert "32" in p["detail"], p
    r = http("GET", "/v1/catalog/items?q=a%zz")
    p = assert_problem(r, 400, "invalid_request")
    assert p["detail"] == "malformed query string", p


# --- downloads -----------------------------------------------------------------------------


def bought_with_deliveries(subscriber, item_id):
    """A new subscriber's purchase of item_id, and a function counting the
    deliveries recorded for its entitlement."""
    sub = subscriber(balance=1000)
    r = http("POST", "/v1/purchases", {"item_id": item_id},
             token=sub["token"],
             headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r
    p = r.json()

    def delivered():
        return db_query("SELECT COUNT(*) FROM entitlement_downloads WHERE"
                        " entitlement_id = %s", (p["entitlement_id"],))[0][0]
    return p, delivered


def test_head_of_a_download_link_is_no_delivery(subscriber, shop):
    """HEAD /v1/downloads/{token} (a chat's link preview, a scanner)
    recorded the ringtone as delivered though no byte of it was sent, and
    reconciliation then never reported the charge charged_not_delivered
    (docs/reconciliation.md). Only a GET records the delivery."""
    p, delivered = bought_with_deliveries(subscriber, shop[1])

    r = http("HEAD", p["download"]["url"])
    assert r.status == 200 and r.body == b"", r
    assert "attachment" in r.headers.get("content-disposition", "")
    assert delivered() == 0
    r = http("GET", p["download"]["url"])
    assert r.status == 200 and r.body.startswith(b"MThd"), r
    assert delivered() == 1


def test_lobby_name_may_hold_a_backslash_u_text(games):
    """A lobby named C:\\u0000 (the six characters, JSON "C:\\\\u0000") was
    refused as "strings may not contain NUL": the handlers searched the
    raw body for the text \\u0000, escaped backslash or not (the body's
    real NUL escapes are refused once, exactly, by gw_json_text_check)."""
    from lobby_helpers import User
    u = User()
    name = "C:\\u0000 \\u0000x"
    r = u.call("POST", "/v1/lobbies", raw=json.dumps(
        {"game_id": games.game8, "name": name}).encode())
    assert r.status == 201, r
    assert r.json()["name"] == name
    lid = r.json()["id"]
    r = u.call("POST", f"/v1/lobbies/{lid}/invite",
               raw=json.dumps({"user_ids": [User().user],
                               "note": "\\u0000"}).encode())
    assert r.status == 202, r
    # The real escape stays refused, and creates nothing.
    v = User()
    r = v.call("POST", "/v1/lobbies",
               raw=b'{"game_id":%d,"name":"a\\u0000"}' % games.game8)
    assert_problem(r, 400, "invalid_request")
    r = v.call("POST", "/v1/lobbies", {"game_id": games.game8})
    assert r.status == 201, r                  # v was in no lobby


def test_control_bytes_between_json_tokens_are_refused(subscriber, shop):
    """cJSON skips every byte up to 0x20 as white space, so a body
    "\\x01{...}" or {"item_id":\\x0b<id>} bought the item; JSON's white
    space is only space, tab, LF and CR (RFC 8259 section 2)."""
    sub = subscriber(balance=1000)
    before = money_state(sub["msisdn"])
    item = shop[1]
    for body in (b'\x01{"item_id":%d}' % item, b'{"item_id":\x0b%d}' % item,
                 b'{\x0c"item_id":%d}' % item, b'\x1f{"item_id":%d}' % item):
        r = http("POST", "/v1/purchases", raw=body, token=sub["token"],
                 headers={"Idempotency-Key": secrets.token_hex(8)})
        assert_problem(r, 400, "invalid_request")
    assert money_state(sub["msisdn"]) == before
    r = http("POST", "/v1/purchases", raw=b' \t\r\n{ "item_id" :\t%d }\r\n'
             % item, token=sub["token"],
             headers={"Idempotency-Key": secrets.token_hex(8)})
    assert r.status == 201, r


# --- HEAD is safe: no day is closed, no delivery recorded -----------------------------------


def test_head_of_the_cdr_export_closes_no_day(admin_key):
    """HEAD /v1/admin/cdrs (a link checker, a proxy revalidating) closed
    the ended days of the range exactly as a GET does, and ran the whole
    export (recording the first export's totals and hash) for a body
    nginx threw away: a HEAD must be safe (RFC 9110 §9.2.1). It answers
    the GET's status and headers and closes nothing."""
    from fin_helpers import add_cdrs, free_day
    day = free_day()
    add_cdrs(day, [{"amount": 10}])
    q = f"/v1/admin/cdrs?from={day}&to={day}"

    def closed():
        return db_query("SELECT COUNT(*) FROM cdr_days WHERE day = %s",
                        (day,))[0][0]

    h = http("HEAD", q, token=admin_key)
    assert h.status == 200 and h.body == b"", h
    assert closed() == 0
    assert http("HEAD", f"/v1/admin/cdrs?from={day}&to=x",
                token=admin_key).status == 400
    g = http("GET", q, token=admin_key)
    assert g.status == 200 and b'"final"' in g.body, g
    assert closed() == 1
    for k in ("content-type", "content-disposition", "cache-control"):
        assert h.headers.get(k) == g.headers.get(k), k


def test_unsatisfiable_range_of_a_download_is_no_delivery(subscriber, shop):
    """GET /v1/downloads/{token} with a Range past the end of the file
    recorded the ringtone as delivered before nginx answered 416 with no
    byte of it; reconciliation then never reported the charge
    charged_not_delivered. A satisfiable Range (206) still records it."""
    p, delivered = bought_with_deliveries(subscriber, shop[0])

    for rng in ("bytes=99999999-", "bytes=99999999-99999999999",
                "bytes=-0", "bytes=99999999-, 99999998-"):
        r = http("GET", p["download"]["url"], headers={"Range": rng})
        assert r.status == 416, (rng, r)
        assert delivered() == 0, rng
    r = http("GET", p["download"]["url"], headers={"Range": "bytes=0-3"})
    assert r.status == 206 and r.body == b"MThd", r
    assert delivered() == 1
