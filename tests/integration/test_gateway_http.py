"""Gateway request path against the real test stack: health, readiness,
metrics, request ids, 404/405/413/400 problems, token checks.

Each test says which bug would make it fail.
"""
import concurrent.futures as cf
import json
import secrets
import time

import pytest

from conftest import ENV, assert_problem, http, mint_token
from gw_helpers import (http_from, log_lines_with, make_jwt, metric, scrape,
                        user_claims, worker_pids)


# --- health, readiness, metrics ---------------------------------------------------------------

def test_healthz():
    """Fails if /healthz is not a cacheless 200 JSON (probe misconfigured)."""
    r = http("GET", "/healthz")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"status": "ok"}
    assert r.headers.get("cache-control") == "no-store"


def test_readyz_ok():
    """Fails if readiness does not check both MariaDB and Redis."""
    r = http("GET", "/readyz")
    assert r.status == 200, r
    body = r.json()
    assert body["mysql"] == "ok" and body["redis"] == "ok", body


def test_metrics_format_and_counts_summed_over_workers():
    """Counts by route and status are shared by all worker processes:
    fails if each worker renders only its own counters (the delta would be
    about N / workers), if a request is counted twice or not at all, or if
    the exposition is not valid Prometheus text (parse_metrics asserts)."""
    n = 60
    # A 405 has no matched route: it is counted as route="unmatched". No
    # other suite sends 405s, so the delta is ours alone.
    labels = dict(route="unmatched", status="405")
    before = metric(scrape(), "vasgw_http_requests_total", **labels)
    rids = [f"gwtest-metrics-{secrets.token_hex(6)}-{i}" for i in range(n)]

    def one(rid):
        return http("POST", "/healthz", headers={"X-Request-Id": rid}).status

    with cf.ThreadPoolExecutor(12) as ex:
        statuses = list(ex.map(one, rids))
    assert statuses == [405] * n
    after = scrape()
    assert metric(after, "vasgw_http_requests_total", **labels) - before == n
    # The histogram has the same route and a +Inf bucket equal to _count.
    hl = dict(route="unmatched")
    inf = metric(after, "vasgw_http_request_duration_seconds_bucket",
                 le="+Inf", **hl)
    cnt = metric(after, "vasgw_http_request_duration_seconds_count", **hl)
    assert inf == cnt and cnt >= n
    # Which processes answered (the access log has the pid). The kernel
    # tends to hand every kept connection to one worker, so the proof that
    # counts are summed over several workers is in test_gateway_procs.py
    # (slow requests that need more threads than one worker has).
    time.sleep(0.2)
    pids = {line["pid"] for rid in rids[:n] for line in log_lines_with(rid)}
    print(f"metrics test: {n} requests answered by worker pids {sorted(pids)}")
    assert pids and pids <= set(worker_pids()) | pids


def test_metrics_unmatched_route_counted():
    """Unknown paths are counted under route="unmatched": fails if 404s
    are dropped from the metrics or crash the renderer (route index -1)."""
    before = metric(scrape(), "vasgw_http_requests_total", route="unmatched",
                    status="404")
    for _ in range(3):
        assert http("GET", f"/no/such/{secrets.token_hex(4)}").status == 404
    after = metric(scrape(), "vasgw_http_requests_total", route="unmatched",
                   status="404")
    assert after - before >= 3  # other suites may add their own 404s


def test_metrics_refused_from_untrusted_address():
    """/metrics from an address outside the trusted list: nginx denies it
    (403 problem+json); vasgw's own TRUSTED check answers 403 on a trusted
    route nginx does not guard (/v1/debug/sleep). Fails if either layer
    lets an outside client read internals."""
    try:
        status, headers, body = http_from("127.0.0.2", "GET", "/metrics")
    except OSError as e:
        pytest.skip(f"cannot bind 127.0.0.2 here: {e}")
    assert status == 403, body
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["code"] == "forbidden"
    assert b"vasgw_http_requests_total" not in body

    status, headers, body = http_from("127.0.0.2", "GET",
                                      "/v1/debug/sleep?ms=0")
    assert status == 403, body
    p = json.loads(body)
    assert p["code"] == "forbidden" and p["status"] == 403


# --- request ids -----------------------------------------------------------------------------

def test_request_id_echoed_when_valid():
    """Fails if a valid incoming X-Request-Id is not echoed (ids could not
    be followed from the client to the logs)."""
    rid = "client-" + secrets.token_hex(8)
    r = http("GET", "/healthz", headers={"X-Request-Id": rid})
    assert r.headers.get("x-request-id") == rid
    # Also on errors, and in the problem body.
    r = http("GET", "/nope", headers={"X-Request-Id": rid})
    assert r.headers.get("x-request-id") == rid
    assert r.json()["request_id"] == rid


@pytest.mark.parametrize("bad", ["has space", "x" * 65, "semi;colon",
                                 "quote\"d", "\u00e9t\u00e9"])
def test_request_id_generated_when_invalid(bad):
    """Fails if an unsafe or over-long id is echoed into headers/logs
    instead of being replaced by a generated one."""
    r = http("GET", "/healthz", headers={"X-Request-Id": bad.encode().decode(
        "latin-1")})
    got = r.headers.get("x-request-id")
    assert got and got != bad
    assert 1 <= len(got) <= 64 and all(c.isalnum() or c in "-_." for c in got)


def test_request_id_generated_when_missing_and_unique():
    """Fails if generated ids repeat (e.g. an unseeded generator per
    worker)."""
    ids = {http("GET", "/healthz").headers.get("x-request-id")
           for _ in range(20)}
    assert None not in ids and len(ids) == 20


# --- 404 / 405 -------------------------------------------------------------------------------

def test_unknown_route_404_problem():
    """Fails if an unknown path is not a problem+json 404 with code
    not_found (e.g. nginx's HTML page, or a 200)."""
    p = assert_problem(http("GET", "/v1/does-not-exist"), 404, "not_found")
    assert p["instance"] == "/v1/does-not-exist"
    assert_problem(http("GET", "/healthz/"), 404, "not_found")


def test_wrong_method_405_with_allow():
    """Fails if a known path under another method is a 404, or the 405
    lacks Allow (RFC 9110 requires it)."""
    r = http("DELETE", "/healthz")
    assert_problem(r, 405, "method_not_allowed")
    assert r.headers.get("allow") == "GET, HEAD"
    r = http("PUT", "/v1/admin/subscribers/8613812345678", body={})
    assert_problem(r, 405, "method_not_allowed")
    assert set(m.strip() for m in r.headers["allow"].split(",")) == {
        "GET", "HEAD", "PATCH"}


def test_head_served_as_get():
    """Fails if HEAD is a 405 (HEAD must work wherever GET does)."""
    r = http("HEAD", "/healthz")
    assert r.status == 200 and r.body == b""


def test_replies_carry_their_length():
    """A reply whose body vasgw knows is sent with Content-Length, not
    chunked (chunked costs nginx a second writev and the client a second
    wake-up per request). Fails if the length is missing, counts the
    headers or the FastCGI framing (the client would wait for bytes that
    never come, or see a truncated body), or if a bodiless 304 or a HEAD
    gets a body."""
    import http.client as hc
    from urllib.parse import urlsplit
    u = urlsplit(ENV["VAS_BASE_URL"])
    c = hc.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        for path in ("/healthz", "/v1/catalog/items?limit=3",
                     "/v1/no-such-route"):
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            assert r.getheader("Transfer-Encoding") is None, path
            assert int(r.getheader("Content-Length")) == len(body) > 0, path
        c.request("GET", "/v1/catalog/items?limit=3")
        r = c.getresponse()
        etag = r.getheader("ETag")
        r.read()
        c.request("GET", "/v1/catalog/items?limit=3",
                  headers={"If-None-Match": etag})
        r = c.getresponse()
        assert r.status == 304 and r.read() == b""
        c.request("HEAD", "/v1/catalog/items?limit=3")
        r = c.getresponse()
        assert r.status == 200 and r.read() == b""
        c.request("GET", "/healthz")  # the connection is still in sync
        r = c.getresponse()
        assert r.status == 200 and json.loads(r.read())
    finally:
        c.close()


def test_long_replies_arrive_whole_on_a_kept_connection():
    """A reply longer than libfcgi's 8 KB buffer goes out as FastCGI
    records framed by vasgw in one writev (gw_fcgi_records), then libfcgi's
    end records. Fails if a byte is lost or repeated at a record boundary
    (the JSON breaks or the length differs), if the end records are missing
    or doubled (nginx waits, 502s, or the next request on the kept
    connections reads garbage), or if a HEAD gets the body."""
    import http.client as hc
    from urllib.parse import urlsplit
    from store_helpers import import_feed, make_feed
    path = "/v1/catalog/items?limit=100&sort=new"
    if len(http("GET", path).body) <= 8192:
        import_feed(make_feed(n_items=60))
    u = urlsplit(ENV["VAS_BASE_URL"])
    c = hc.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        for _ in range(20):  # over both workers' kept connections
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            assert r.status == 200 and len(body) > 8192
            assert int(r.getheader("Content-Length")) == len(body)
            assert len(json.loads(body)["items"]) > 20
            c.request("HEAD", path)
            r = c.getresponse()
            assert r.status == 200 and r.read() == b""
            c.request("GET", "/healthz")
            r = c.getresponse()
            assert r.status == 200 and json.loads(r.read())
    finally:
        c.close()


def test_problem_json_is_utf8_for_undecodable_path():
    """A path with bytes that are not UTF-8 (/%FF%FE) is echoed in the
    problem's "instance": fails if raw bytes make the document invalid
    JSON for strict clients (fixed in gw_buf_append_json_str)."""
    r = http("GET", "/v1/%FF%FEx")
    assert r.status == 404
    p = json.loads(r.body.decode("utf-8"))  # strict: raises if not UTF-8
    assert p["code"] == "not_found"
    assert p["instance"].endswith("x")


# --- body limits and JSON ---------------------------------------------------------------------

def test_body_over_gateway_limit_413(admin_key):
    """70 KB to a JSON route: over limits.body_max_bytes (64 KiB), under
    nginx's 1 MiB. Fails if vasgw reads and parses it anyway, or answers
    anything but a problem+json 413."""
    body = json.dumps({"im_user_id": "x", "msisdn": "8613800000000",
                       "plan": "prepaid", "pad": "a" * 70_000})
    r = http("POST", "/v1/admin/subscribers", raw=body, token=admin_key)
    assert_problem(r, 413, "payload_too_large")
    # The connection is still usable afterwards (the body was drained).
    assert http("GET", "/healthz").status == 200


def test_body_over_nginx_limit_413(admin_key):
    """Over 1 MiB: nginx refuses it before vasgw; fails if nginx's 413 is
    HTML instead of problem+json."""
    r = http("POST", "/v1/admin/subscribers", raw=b"{" + b" " * 1_100_000
             + b"}", token=admin_key)
    assert_problem(r, 413, "payload_too_large")


@pytest.mark.parametrize("raw", [b"{", b"{\"a\":1} trailing", b"", b"[1,2]",
                                 b"{\"a\":\"x\x00\"}", b"nul",
                                 b"{\"a\":1}{\"b\":2}"])
def test_malformed_json_400(admin_key, raw):
    """Fails if malformed bodies, a second value, a NUL byte, an empty
    body or a non-object reach a handler instead of a 400 problem."""
    r = http("POST", "/v1/admin/subscribers", raw=raw, token=admin_key)
    assert_problem(r, 400, "invalid_request")


def test_deeply_nested_json_400(admin_key):
    """Depth 100 (limit 32): fails if the depth limit is not enforced
    before cJSON parses it."""
    raw = "[" * 100 + "]" * 100
    r = http("POST", "/v1/admin/subscribers",
             raw='{"a":' + raw + '}', token=admin_key)
    p = assert_problem(r, 400, "invalid_request")
    assert "deep" in p["detail"]


# --- authentication ---------------------------------------------------------------------------

def _me(token=None, headers=None):
    return http("GET", "/v1/me", token=token, headers=headers)


def test_me_rejects_bad_tokens():
    """Every one of these must be a 401 problem: fails if any of them is
    accepted (alg none, another key, expired, unsigned…)."""
    user = "im-gwtest-" + secrets.token_hex(4)
    now = int(time.time())
    cases = {
        "missing": None,
        "unsigned": make_jwt(user_claims(user), sign=False),
        "alg none": make_jwt(user_claims(user), header={"alg": "none"},
                             sign=False),
        "alg none signed": make_jwt(user_claims(user),
                                    header={"alg": "none"}),
        "HS512": make_jwt(user_claims(user), header={"alg": "HS512"}),
        "other key": make_jwt(user_claims(user), key=b"not-the-secret" * 3),
        "expired": make_jwt({"sub": user, "iat": now - 7200,
                             "exp": now - 3600}),
        "no exp": make_jwt({"sub": user, "iat": now}),
        "iat future": make_jwt(user_claims(user, iat=now + 3600)),
        "sub number": make_jwt({"sub": 12345, "exp": now + 3600}),
        "malformed": "not.a.jwt",
        "garbage": "abc",
        "extra dot": make_jwt(user_claims(user)) + ".x",
    }
    for name, tok in cases.items():
        r = _me(tok)
        assert r.status == 401, (name, r)
        assert_problem(r, 401, "unauthorized")
    # Other schemes are no bearer token at all.
    assert_problem(_me(headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401,
                   "unauthorized")


def test_me_valid_token_unbound_user_403():
    """A valid token for a user no admin bound: 403 forbidden. Fails if a
    valid signature is refused (401), or an unbound user gets data."""
    tok = make_jwt(user_claims("im-unbound-" + secrets.token_hex(4)))
    r = _me(tok)
    if r.status == 404 and b"not implemented" in r.body:
        pytest.xfail("/v1/me is not implemented yet")
    assert_problem(r, 403, "forbidden")


def test_vasctl_minted_token_accepted():
    """A token from `vasctl token mint` passes authentication (403 for the
    unbound user, never 401): fails if vasctl and vasgw disagree on the key
    bytes (e.g. one strips the secret file's newline)."""
    r = _me(mint_token("im-minted-" + secrets.token_hex(4)))
    assert r.status != 401, r


def test_user_token_on_admin_route_403():
    """Fails if a user token on an admin route is a 401 (it is a valid
    credential of the wrong kind → 403) or, worse, accepted."""
    tok = make_jwt(user_claims("im-gwtest-" + secrets.token_hex(4)))
    r = http("GET", "/v1/admin/subscribers/8613812345678", token=tok)
    assert_problem(r, 403, "forbidden")
    r = http("GET", "/v1/admin/subscribers/8613812345678",
             token="vasadm_" + "A" * 43)
    assert_problem(r, 401, "unauthorized")
    r = http("GET", "/v1/admin/subscribers/8613812345678")
    assert_problem(r, 401, "unauthorized")


def test_admin_key_accepted(admin_key):
    """Fails if the stack's admin key is not found by its hash."""
    r = http("GET", "/v1/admin/subscribers/8600000000001", token=admin_key)
    assert r.status not in (401, 403), r
