"""Paid lobby starts (API.md "POST /v1/lobbies/{id}/start", store/store_start.h):
all or nothing over every player's phone account, tickets, replays. Real
MariaDB and Redis; the game allocator is tests/fakes/fake_allocator.py."""
import secrets
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (ENV, assert_problem, audit_clean, db_query, http,
                      vasctl, wait_until)
from lobby_helpers import (PRICE, Catalog, FakeAllocator, User, account,
                           full_lobby, get, inbox, ready, start, verify_ticket)


@pytest.fixture(scope="module")
def allocator():
    fa = FakeAllocator().start()
    yield fa
    fa.stop()


@pytest.fixture(scope="module")
def cat(allocator):
    return Catalog(allocator)


@pytest.fixture(autouse=True)
def clean_allocator(allocator):
    allocator.reset()
    yield
    allocator.reset()


@pytest.fixture
def admin():
    return ENV["VAS_ADMIN_KEY"]


def audit_ok():
    ok, out = audit_clean()
    assert ok, out


def give_pass(user, game):
    db_query("INSERT INTO entitlements (owner_user_id, item_id, kind, status,"
             " granted_at, expires_at, updated_at) VALUES (%s, %s, 'pass',"
             " 'active', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) + INTERVAL 1 DAY,"
             " UTC_TIMESTAMP(3))", (user, game))


def cdrs_of(msisdn):
    return db_query("SELECT kind, amount, lobby_start_id FROM cdrs WHERE"
                    " msisdn = %s ORDER BY id", (msisdn,))


def test_start_charges_each_payer_once(cat, admin, allocator):
    """Catches: a payer charged twice or not at all, a pass holder charged,
    a CDR missing its kind/lobby_start_id, tickets that do not verify or a
    tampered one that does, lobby.started not delivered."""
    a, b, c = (User(admin, balance=1000) for _ in range(3))
    give_pass(c.user, cat.game)
    lid = full_lobby(a, [b, c], cat.game)
    r = start(a, lid)
    assert r.status == 200, r
    lob = r.json()
    assert lob["state"] == "started" and lob["match"]["id"].startswith("m-")
    assert len(allocator.requests) == 1
    assert sorted(allocator.requests[0]["body"]["players"]) == sorted(
        [a.user, b.user, c.user])
    assert account(a.msisdn) == (1000 - PRICE, 0)
    assert account(b.msisdn) == (1000 - PRICE, 0)
    assert account(c.msisdn) == (1000, 0)
    start_id = db_query("SELECT id FROM lobby_starts WHERE lobby_id = %s AND"
                        " state = 'captured'", (lid,))[0][0]
    for u in (a, b):
        assert cdrs_of(u.msisdn)[-1] == ("capture", PRICE, start_id)
        assert len([x for x in cdrs_of(u.msisdn) if x[0] == "capture"]) == 1
    assert not [x for x in cdrs_of(c.msisdn) if x[0] == "capture"]
    for u in (a, b, c):
        t = u.call("GET", f"/v1/lobbies/{lid}/ticket")
        assert t.status == 200, t
        t = t.json()
        assert t["match_id"] == lob["match"]["id"]
        p = verify_ticket(t["ticket"])
        assert p and p["user"] == u.user and p["match"] == t["match_id"]
        assert p["host"] == lob["match"]["server"]["host"]
        ok = vasctl("ticket", "verify", t["ticket"], check=False)
        assert ok.returncode == 0, ok.stderr
        ok = vasctl("ticket", "verify", check=False, input=t["ticket"] + "\n")
        assert ok.returncode == 0, ok.stderr
        head, sig = t["ticket"].split(".")
        forged = head[:-2] + ("A" if head[-2] != "A" else "B") + head[-1]
        bad = vasctl("ticket", "verify", forged + "." + sig, check=False)
        assert bad.returncode == 1
        bad = vasctl("ticket", "verify", head + "." + sig[::-1], check=False)
        assert bad.returncode == 1
        assert verify_ticket(forged + "." + sig) is None
    assert_problem(User().call("GET", f"/v1/lobbies/{lid}/ticket"), 404)
    assert wait_until(lambda: any(i["type"] == "lobby.started"
                                  for i in inbox(b.user)), 20)
    st = [i["data"] for i in inbox(b.user) if i["type"] == "lobby.started"][0]
    assert st["match_id"] == lob["match"]["id"] and verify_ticket(st["ticket"])
    assert verify_ticket(st["ticket"])["user"] == b.user
    audit_ok()


def test_same_start_retried_is_replayed(cat, admin, allocator):
    """Catches: a retried start charging again or allocating again."""
    a, b = User(admin, balance=1000), User(admin, balance=1000)
    lid = full_lobby(a, [b], cat.game)
    r1 = start(a, lid, key="k-same")
    assert r1.status == 200, r1
    r2 = start(a, lid, key="k-same")
    assert r2.status == 200 and r2.headers.get("idempotent-replayed") == "true"
    assert r2.body == r1.body
    r3 = start(a, lid, key="k-other")  # another key: the recorded start
    assert r3.status == 200 and r3.json()["match"] == r1.json()["match"]
    assert len(allocator.requests) == 1
    assert account(a.msisdn) == (1000 - PRICE, 0)
    assert account(b.msisdn) == (1000 - PRICE, 0)
    assert_problem(a.call("POST", f"/v1/lobbies/{lid}/start"), 400,
                   "idempotency_key_required")
    audit_ok()


def test_one_cannot_pay_nothing_reserved(cat, admin, allocator):
    """Catches: partial reservations when one player cannot pay, a 402 that
    does not say who, the allocator called anyway."""
    a = User(admin, balance=1000)
    poor = User(admin, balance=PRICE - 1)
    unbound = User()
    lid = full_lobby(a, [poor, unbound], cat.game)
    before = [account(u.msisdn) for u in (a, poor)]
    r = start(a, lid)
    p = assert_problem(r, 402, "insufficient_funds")
    who = {x["user_id"]: x["code"] for x in p["players"]}
    assert who == {poor.user: "insufficient_funds",
                   unbound.user: "no_phone_account"}, p
    assert [account(u.msisdn) for u in (a, poor)] == before
    assert not allocator.requests
    assert get(a, lid).json()["state"] == "open"
    assert not db_query("SELECT id FROM lobby_starts WHERE lobby_id = %s",
                        (lid,))
    audit_ok()


@pytest.mark.parametrize("mode", ["fail", "garbage", "stall"])
def test_allocator_failure_releases_every_hold(cat, admin, allocator, mode):
    """Catches: holds left pending (or captured) when the allocator fails,
    hangs or answers nonsense; a stalled allocator hanging the request."""
    a, b = User(admin, balance=1000), User(admin, balance=1000)
    lid = full_lobby(a, [b], cat.game)
    allocator.mode, allocator.stall_s = mode, 5
    t0 = time.time()
    r = start(a, lid)
    took = time.time() - t0
    assert_problem(r, 502, "bad_gateway")
    assert len(allocator.requests) == 2  # one retry
    assert took < 9, took  # 2 x allocator_timeout_ms (3 s) and a margin
    assert account(a.msisdn) == (1000, 0)
    assert account(b.msisdn) == (1000, 0)
    rows = db_query("SELECT state FROM lobby_starts WHERE lobby_id = %s",
                    (lid,))
    assert rows == (("released",),), rows
    assert get(a, lid).json()["state"] == "open"
    allocator.mode = "ok"
    r = start(a, lid)  # the lobby can start again once the allocator is back
    assert r.status == 200, r
    assert account(a.msisdn) == (1000 - PRICE, 0)
    audit_ok()


def test_allocator_retry_once(cat, admin, allocator):
    """Catches: a single allocator hiccup failing the start (no retry)."""
    a, b = User(admin, balance=1000), User(admin, balance=1000)
    lid = full_lobby(a, [b], cat.game)
    allocator.mode = "fail_once"
    r = start(a, lid)
    assert r.status == 200, r
    assert len(allocator.requests) == 2
    assert account(b.msisdn) == (1000 - PRICE, 0)
    audit_ok()


def test_concurrent_starts_one_start(cat, admin, allocator):
    """Catches: two starts of one lobby both charging (or allocating)."""
    users = [User(admin, balance=1000) for _ in range(4)]
    lid = full_lobby(users[0], users[1:], cat.game)
    barrier = threading.Barrier(8)

    def go(i):
        barrier.wait()
        return start(users[0], lid, key=f"race-{i}")

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(go, range(8)))
    assert [r.status for r in results].count(200) >= 1, results
    for r in results:
        assert r.status in (200, 409), r
    assert len(allocator.requests) == 1
    matches = {r.json()["match"]["id"] for r in results if r.status == 200}
    assert len(matches) == 1
    for u in users:
        assert account(u.msisdn) == (1000 - PRICE, 0)
    assert db_query("SELECT COUNT(*) FROM lobby_starts WHERE lobby_id = %s",
                    (lid,))[0][0] == 1
    audit_ok()


def test_start_rules(cat, admin):
    """Catches: starts with too few players or someone not ready."""
    a, b = User(admin, balance=1000), User(admin, balance=1000)
    r = a.call("POST", "/v1/lobbies", {"game_id": cat.game})
    lid = r.json()["id"]
    ready(a, lid)
    assert_problem(start(a, lid), 409, "conflict")  # 1 < min_players
    assert http("POST", f"/v1/lobbies/{lid}/join", token=b.token).status == 200
    assert_problem(start(a, lid), 409, "conflict")  # b not ready
    ready(b, lid)
    assert_problem(start(User(), lid), 403, "not_lobby_owner")
    assert start(a, lid).status == 200
    assert_problem(http("POST", f"/v1/lobbies/{lid}/join",
                        token=User().token), 409, "lobby_closed")
    # started: the members may open new lobbies
    assert a.call("POST", "/v1/lobbies", {"game_id": cat.game}).status == 201


def test_pass_game_and_free_game(cat, admin, allocator):
    """Catches: a pass game charging per play, starting for a non-holder,
    or a free game demanding a phone account."""
    a, b = User(admin, balance=1000), User(admin, balance=1000)
    give_pass(a.user, cat.pass_game)
    lid = full_lobby(a, [b], cat.pass_game)
    p = assert_problem(start(a, lid), 402)
    assert p["players"] == [{"user_id": b.user, "code": "pass_required"}]
    give_pass(b.user, cat.pass_game)
    assert start(a, lid).status == 200
    assert account(a.msisdn) == (1000, 0) and account(b.msisdn) == (1000, 0)
    x, y = User(), User()  # IM users without phone accounts
    lid = full_lobby(x, [y], cat.free_game)
    assert start(x, lid).status == 200
    audit_ok()


def test_allocator_connection_kept_between_starts(cat, admin, allocator):
    """Catches: a new TCP connection to the allocator for every start (a
    curl handle made and cleaned up per call). Each serving thread keeps
    its handle; nginx keeps its FastCGI connections (fastcgi_keep_conn), so
    sequential starts come back to a few threads and their connections."""
    n = 12
    for _ in range(n):
        a, b = User(admin, balance=1000), User(admin, balance=1000)
        r = start(a, full_lobby(a, [b], cat.game))
        assert r.status == 200, r
    peers = {q["peer"] for q in allocator.requests}
    assert len(allocator.requests) == n
    assert len(peers) <= n // 2, peers
    audit_ok()
