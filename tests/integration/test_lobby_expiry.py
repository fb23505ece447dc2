"""Lobby presence, expiry, crash recovery and Redis outages. This module
restarts vasgw with short lobby timers (lobby_idle_s = 2, closed_ttl_s = 1,
start_timeout_s = 2) and puts the defaults back at the end."""
import os
import secrets
import signal
import threading
import time

import pytest

from conftest import ENV, assert_problem, audit_clean, db_query, http
from gw_helpers import restart_vasgw, worker_pids, wait_until
from lobby_helpers import (PRICE, Catalog, FakeAllocator, User, account,
                           create, full_lobby, get, inbox, join, leave,
                           redis_keys, start)
from test_notify_helpers import Redis, redis_up, stack_part

IDLE_S = 2
SHORT = {"VASGW_JANITOR_LOBBY_IDLE_S": str(IDLE_S),
         "VASGW_LOBBY_CLOSED_TTL_S": "1",
         "VASGW_LOBBY_START_TIMEOUT_S": "2"}


@pytest.fixture(scope="module", autouse=True)
def short_timers():
    restart_vasgw(env=SHORT)
    yield
    if not redis_up():
        stack_part("start-part", "redis")
    restart_vasgw()


@pytest.fixture(scope="module")
def allocator():
    fa = FakeAllocator().start()
    yield fa
    fa.stop()


@pytest.fixture(scope="module")
def cat(allocator):
    return Catalog(allocator)


def keys_of(lids=(), users=(), games=()):
    """Every Redis key that belongs to these lobbies, users and games."""
    out = []
    for lid in lids:
        out += redis_keys("vas:lobby:{%s}*" % lid)
    for u in users:
        out += redis_keys("vas:lobbyuser:{%s}" % u.user)
    for g in games:
        out += redis_keys("vas:lobbies:{g%d}*" % g)
    return out


def poll(u, lid, seconds):
    """u stays present (a member request every 0.3 s) for seconds."""
    end = time.time() + seconds
    while time.time() < end:
        r = get(u, lid)
        assert r.status == 200, r
        time.sleep(0.3)
    return r


def test_idle_member_is_evicted(cat):
    """Catches: members who stopped calling kept forever (seats never
    free), and eviction without a member_left notification."""
    a, b = User(), User()
    lid = full_lobby(a, [b], cat.game8, all_ready=False)
    lob = poll(a, lid, IDLE_S + 1).json()
    assert [m["user_id"] for m in lob["members"]] == [a.user]
    left = [i["data"] for i in inbox(a.user)
            if i["type"] == "lobby.member_left"]
    assert left and left[0]["user_id"] == b.user
    assert left[0]["reason"] == "idle"
    assert create(b, cat.game8).status == 201  # b's claim expired with it


def test_idle_owner_hands_over(cat):
    """Catches: an evicted owner keeping ownership of a live lobby."""
    a, b = User(), User()
    lid = full_lobby(a, [b], cat.game8, all_ready=False)
    lob = poll(b, lid, IDLE_S + 1).json()
    assert lob["owner"] == b.user
    assert "lobby.owner_changed" in [i["type"] for i in inbox(b.user)]


def test_idle_lobby_expires_and_leaves_no_keys(cat):
    """Catches: keys without a TTL (a lobby, claim or listing entry that
    outlives its lobby); counts every key of the lobby, users and game."""
    game = Catalog(FakeAllocator()).game  # a listing of its own
    a, b = User(), User()
    lid = full_lobby(a, [b], game, all_ready=False)
    assert keys_of([lid], [a, b], [game])
    time.sleep(IDLE_S + 0.6)
    assert keys_of([lid], [a, b], [game]) == []
    assert_problem(get(a, lid), 404)
    assert http("GET", f"/v1/lobbies?game_id={game}",
                token=a.token).json()["items"] == []


def test_expired_lobby_leaves_a_live_listing(cat):
    """Catches: a listing showing a lobby whose expiry passed while the
    game's listing lives on (a newer lobby keeps its keys), and its row
    kept after a listing passed it."""
    game = Catalog(FakeAllocator()).game
    a, b = User(), User()
    create(a, game)
    time.sleep(IDLE_S - 0.7)
    new = create(b, game).json()["id"]
    time.sleep(1.0)  # the first one expired, the second has 1.3 s left
    r = http("GET", f"/v1/lobbies?game_id={game}", token=b.token)
    assert [x["id"] for x in r.json()["items"]] == [new], r.json()
    with Redis() as rd:
        assert rd.cmd("ZCARD", "vas:lobbies:{g%d}:rows" % game) == 1


def test_closed_and_started_lobbies_leave_no_keys(cat):
    """Catches: the closed tombstone or a started lobby never expiring."""
    game = Catalog(FakeAllocator()).game
    a, b, c, d = User(), User(), User(), User()
    l1 = full_lobby(a, [b], game, all_ready=False)
    assert leave(b, l1).status == 204 and leave(a, l1).status == 204
    l2 = full_lobby(c, [d], cat.free_game)
    assert start(c, l2).status == 200
    time.sleep(1.3)
    assert keys_of([l1], [a, b], [game]) == []
    time.sleep(IDLE_S)
    assert keys_of([l2], [c, d], [cat.free_game]) == []


def test_crash_between_reserve_and_capture_recovers(cat, allocator):
    """A worker killed while the allocator is being called leaves pending
    holds and a 'reserved' start. Catches: those holds charged, kept, or the
    lobby stuck; the next start must abandon them and charge exactly once."""
    admin = ENV["VAS_ADMIN_KEY"]
    a, b = User(admin, balance=1000), User(admin, balance=1000)
    lid = full_lobby(a, [b], cat.game)
    allocator.reset()
    allocator.mode, allocator.stall_s = "stall", 6
    stop = threading.Event()

    def present():  # the players stay in the lobby meanwhile
        while not stop.is_set():
            for u in (a, b):
                get(u, lid)
            time.sleep(0.3)

    threading.Thread(target=present, daemon=True).start()
    t = threading.Thread(target=lambda: start(a, lid), daemon=True)
    t.start()
    assert wait_until(lambda: allocator.requests, 10)
    assert account(a.msisdn) == (1000, PRICE)  # reserved, not charged
    for pid in worker_pids():
        os.kill(pid, signal.SIGKILL)
    t.join(15)
    allocator.reset()
    assert wait_until(lambda: len(worker_pids()) > 0, 20)
    assert db_query("SELECT state FROM lobby_starts WHERE lobby_id = %s",
                    (lid,)) == (("reserved",),)
    time.sleep(2.2)  # start_timeout_s: the stuck "starting" may begin again
    r = start(a, lid)
    stop.set()
    assert r.status == 200, r
    states = sorted(x[0] for x in db_query(
        "SELECT state FROM lobby_starts WHERE lobby_id = %s", (lid,)))
    assert states == ["abandoned", "captured"], states
    assert account(a.msisdn) == (1000 - PRICE, 0)
    assert account(b.msisdn) == (1000 - PRICE, 0)
    ok, out = audit_clean()
    assert ok, out


def test_redis_down_lobbies_503_purchases_work(cat):
    """Catches: lobby routes hanging or 500 without Redis, and a purchase
    path that needs Redis."""
    admin = ENV["VAS_ADMIN_KEY"]
    buyer = User(admin, balance=1000)
    a = User()
    lid = create(a, cat.game).json()["id"]
    stack_part("stop-part", "redis")
    try:
        assert not redis_up()
        for method, path, body in (
                ("POST", "/v1/lobbies", {"game_id": cat.game}),
                ("GET", f"/v1/lobbies?game_id={cat.game}", None),
                ("GET", f"/v1/lobbies/{lid}", None),
                ("POST", f"/v1/lobbies/{lid}/join", None),
                ("POST", "/v1/lobbies/quick-match", {"game_id": cat.game})):
            t0 = time.time()
            r = User().call(method, path, body)
            assert time.time() - t0 < 2.0, (path, time.time() - t0)
            assert_problem(r, 503, "unavailable")
        r = buyer.call("POST", "/v1/purchases", {"item_id": cat.ringtone},
                       headers={"Idempotency-Key": secrets.token_hex(8)})
        assert r.status == 201, r
    finally:
        stack_part("start-part", "redis")
    assert wait_until(redis_up, 10)
    assert create(User(), cat.game).status == 201


def test_redis_restart_and_script_flush_are_invisible(cat):
    """Catches: a transition answering 500 after SCRIPT FLUSH (NOSCRIPT:
    the script is loaded again and re-run once, lob_eval_render), and
    lobby reads answering 503 after Redis restarted under warm threads.
    (The threads' connections are mostly re-made before a lobby call
    meets them — the limiter or the refill thread finds them closed
    first — so this does not force gw_redis_retry's re-send.)"""
    def many(n, fn):
        out = [None] * n

        def run(i):
            out[i] = fn(i)
        ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return out

    owners = [User() for _ in range(32)]
    lids = [r.json()["id"] for r in many(32, lambda i: create(
        owners[i], cat.game))]
    for _ in range(3):  # many threads of both workers hold a connection
        assert all(r.status == 200 for r in many(32, lambda i: get(
            owners[i], lids[i])))
    stack_part("stop-part", "redis")
    try:
        assert not redis_up()
    finally:
        stack_part("start-part", "redis")
    assert wait_until(redis_up, 10)
    # Redis kept nothing (no persistence in the stacks): 404, never 503.
    got = many(32, lambda i: get(owners[i], lids[i]))
    assert [r.status for r in got] == [404] * 32, [r.status for r in got]
    with Redis() as r:
        assert r.cmd("SCRIPT", "FLUSH") in ("OK", b"OK")
    a, b = User(), User()
    lid = create(a, cat.game).json()["id"]
    r = join(b, lid)
    assert r.status == 200, r
    assert len(r.json()["members"]) == 2
    assert leave(b, lid).status == 204
