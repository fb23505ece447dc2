"""Game lobbies in Redis (API.md "Game lobbies", README "Lobbies"): the
transitions, their rules under concurrency, visibility, the listing,
notifications and bad input. Each test names the bug it exists to catch."""
import json
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ENV, assert_problem, http, wait_until
from lobby_helpers import (Catalog, FakeAllocator, User, create, full_lobby,
                           get, inbox, join, leave, ready, redis_keys)


@pytest.fixture(scope="module")
def allocator():
    fa = FakeAllocator().start()
    yield fa
    fa.stop()


@pytest.fixture(scope="module")
def cat(allocator):
    return Catalog(allocator)


def members(lobby):
    return [m["user_id"] for m in lobby["members"]]


def claim(user):
    from test_notify_helpers import Redis
    with Redis() as r:
        return r.cmd("GET", "vas:lobbyuser:{%s}" % user)


def test_create_and_get(cat):
    """Catches: a lobby missing API.md fields, the owner not first member."""
    a = User()
    r = create(a, cat.game, name="李伟的桌子", max_players=3)
    assert r.status == 201, r
    lob = r.json()
    for k in ("id", "game_id", "name", "owner", "state", "visibility",
              "max_players", "members", "created_at", "expires_at", "match"):
        assert k in lob, k
    assert lob["owner"] == a.user and members(lob) == [a.user]
    assert lob["state"] == "open" and lob["visibility"] == "public"
    assert lob["max_players"] == 3 and lob["name"] == "李伟的桌子"
    assert lob["match"] is None and lob["game_id"] == cat.game
    r = get(User(), lob["id"])
    assert r.status == 200 and r.json()["id"] == lob["id"], r


def test_race_to_join_four_seats(cat):
    """24 users race for the 3 free seats of a 4-seat lobby, and for a second
    lobby at the same time. Catches: a capacity check outside the atomic
    script (5+ members), and the per-user claim not being taken before the
    lobby script (a user in two lobbies)."""
    o1, o2 = User(), User()
    l1 = create(o1, cat.game, max_players=4).json()["id"]
    l2 = create(o2, cat.game, max_players=4).json()["id"]
    users = [User() for _ in range(24)]
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(users) * 2)

    def go(u, lid):
        barrier.wait()
        r = join(u, lid)
        with lock:
            results.append((u.user, lid, r.status,
                            r.json().get("code") if r.status != 200 else None))

    with ThreadPoolExecutor(len(users) * 2) as ex:
        for u in users:
            ex.submit(go, u, l1)
            ex.submit(go, u, l2)
    m1 = members(get(o1, l1).json())
    m2 = members(get(o2, l2).json())
    assert len(m1) == 4 and len(m2) == 4, (m1, m2)
    assert not (set(m1) & set(m2)), "a user is in two lobbies"
    ok = [x for x in results if x[2] == 200]
    assert len(ok) == 6, ok
    for _, _, status, code in results:
        assert status in (200, 409), results
        assert code in (None, "lobby_full", "already_in_lobby"), results
    # the losers hold no claim: each can create a lobby of their own
    loser = next(u for u in users if u.user not in m1 + m2)
    assert claim(loser.user) is None
    assert create(loser, cat.game).status == 201


def seated(owners, lids):
    """{user: [lobby ids that list the user as a member]}."""
    out = {}
    for o, lid in zip(owners, lids):
        for m in members(get(o, lid).json()):
            out.setdefault(m, []).append(lid)
    return out


def seated_twice_then_leave(users, owners, lids, twice):
    """Appends to twice each user seated in more than one of lids, then
    makes every user leave wherever seated (the next trial starts clean)."""
    where = seated(owners, lids)
    for u in users:
        if len(where.get(u.user, [])) > 1:
            twice.append((u.user, where[u.user]))
        for lid in where.get(u.user, []):
            assert leave(u, lid).status == 204


def test_one_user_racing_joins_of_several_lobbies(cat):
    """The same user joins 4 lobbies at once, 4 users a trial, 60 trials.
    Catches: the claim found pointing at a lobby the user has not joined
    YET (claimed, script in flight) taken for stale and moved, after which
    both joins seat the user (a user in two lobbies; failed 13-58 times per
    run before claims carried a token that the other lobby fences)."""
    owners = [User() for _ in range(4)]
    lids = [create(o, cat.game8, max_players=8).json()["id"] for o in owners]
    twice = []
    with ThreadPoolExecutor(16) as ex:
        for _ in range(60):
            users = [User() for _ in range(4)]
            barrier = threading.Barrier(16)

            def go(u, lid):
                barrier.wait()
                return join(u, lid).status

            codes = [f.result() for f in
                     [ex.submit(go, u, lid) for u in users for lid in lids]]
            assert set(codes) <= {200, 409}, codes
            seated_twice_then_leave(users, owners, lids, twice)
    assert twice == [], twice


def test_leave_racing_a_rejoin_and_another_join(cat):
    """A member leaves L while joining L again and joining M, at once,
    40 times. Catches: the leave's claim release deleting the claim that
    the concurrent re-join of L seats under (released by lobby id alone),
    after which the join of M also succeeds (a user in two lobbies)."""
    o1, o2 = User(), User()
    l1 = create(o1, cat.game8, max_players=8).json()["id"]
    l2 = create(o2, cat.game8, max_players=8).json()["id"]
    twice = []
    with ThreadPoolExecutor(12) as ex:
        for _ in range(40):
            users = [User() for _ in range(4)]
            for u in users:
                assert join(u, l1).status == 200
            barrier = threading.Barrier(12)

            def go(fn, u, lid):
                barrier.wait()
                return fn(u, lid).status

            fs = [ex.submit(go, fn, u, lid) for u in users
                  for fn, lid in ((leave, l1), (join, l1), (join, l2))]
            [f.result() for f in fs]
            seated_twice_then_leave(users, [o1, o2], [l1, l2], twice)
    assert twice == [], twice


def test_owner_leaves_longest_waiting_takes_over(cat):
    """Catches: ownership handed to anyone but the earliest joiner, and a
    missing lobby.owner_changed / member_left notification."""
    a, b, c, d = User(), User(), User(), User()
    lid = full_lobby(a, [b, c, d], cat.game, all_ready=False)
    assert leave(a, lid).status == 204
    lob = get(b, lid).json()
    assert lob["owner"] == b.user and members(lob) == [b.user, c.user, d.user]
    assert leave(b, lid).status == 204
    assert get(c, lid).json()["owner"] == c.user
    types = [i["type"] for i in inbox(d.user)]
    assert types.count("lobby.owner_changed") == 2, types
    assert types.count("lobby.member_left") == 2, types
    oc = [i["data"] for i in inbox(d.user)
          if i["type"] == "lobby.owner_changed"]
    assert {(x["previous_owner"], x["owner"]) for x in oc} == {
        (a.user, b.user), (b.user, c.user)}
    # a leaver may join another lobby at once (its claim was released)
    assert create(a, cat.game).status == 201


def test_last_member_leaving_closes(cat):
    """Catches: an empty lobby left open (joinable with nobody in it)."""
    a, b = User(), User()
    lid = create(a, cat.game).json()["id"]
    assert leave(a, lid).status == 204
    r = get(b, lid)
    assert r.status == 200 and r.json()["state"] == "closed", r
    assert r.json()["members"] == []
    assert_problem(join(b, lid), 409, "lobby_closed")
    assert leave(a, lid).status == 204  # leaving is idempotent
    keys = redis_keys("vas:lobby:{%s}*" % lid)
    assert keys == ["vas:lobby:{%s}" % lid], keys  # the tombstone only


def test_private_lobby_invisible_to_outsiders(cat):
    """Catches: private lobbies readable, joinable or listed for anyone;
    invitees not notified with what a chat needs to render the invite."""
    a, invitee, outsider = User(), User(), User()
    lid = create(a, cat.game, visibility="private").json()["id"]
    assert_problem(get(outsider, lid), 404, "not_found")
    assert_problem(join(outsider, lid), 404, "not_found")
    assert_problem(outsider.call("POST", f"/v1/lobbies/{lid}/ready",
                                 {"ready": True}), 404)
    r = http("GET", f"/v1/lobbies?game_id={cat.game}&limit=100",
             token=outsider.token)
    assert lid not in [x["id"] for x in r.json()["items"]]
    r = a.call("POST", f"/v1/lobbies/{lid}/invite",
               {"user_ids": [invitee.user]})
    assert r.status == 202, r
    inv = [i["data"] for i in inbox(invitee.user)
           if i["type"] == "lobby.invited"]
    assert len(inv) == 1, inbox(invitee.user)
    for k in ("lobby_id", "game_id", "game_title", "inviter", "seats_taken",
              "seats_total", "expires_at"):
        assert k in inv[0], k
    assert inv[0]["inviter"] == a.user and inv[0]["lobby_id"] == lid
    assert inv[0]["seats_taken"] == 1 and inv[0]["seats_total"] == 4
    assert get(invitee, lid).status == 200
    assert join(invitee, lid).status == 200
    assert_problem(get(outsider, lid), 404, "not_found")


def test_only_owner_kicks_and_starts(cat):
    """Catches: members kicking or starting (403 not_lobby_owner), a kicked
    member kept in the lobby or still claimed."""
    a, b, c = User(), User(), User()
    lid = full_lobby(a, [b, c], cat.free_game)
    assert_problem(b.call("POST", f"/v1/lobbies/{lid}/kick",
                          {"user_id": c.user}), 403, "not_lobby_owner")
    assert_problem(b.call("POST", f"/v1/lobbies/{lid}/start",
                          headers={"Idempotency-Key": "k1"}), 403,
                   "not_lobby_owner")
    r = a.call("POST", f"/v1/lobbies/{lid}/kick", {"user_id": c.user})
    assert r.status == 200 and members(r.json()) == [a.user, b.user], r
    assert "lobby.member_left" in [i["type"] for i in inbox(c.user)]
    assert_problem(a.call("POST", f"/v1/lobbies/{lid}/kick",
                          {"user_id": a.user}), 400)
    assert_problem(a.call("POST", f"/v1/lobbies/{lid}/kick",
                          {"user_id": c.user}), 404)
    assert claim(c.user) is None
    assert create(c, cat.game).status == 201


def test_one_open_lobby_per_user(cat):
    """Catches: a user owning or joining a second open lobby."""
    a, b = User(), User()
    l1 = create(a, cat.game).json()["id"]
    assert_problem(create(a, cat.game8), 409, "already_in_lobby")
    l2 = create(b, cat.game).json()["id"]
    assert_problem(join(a, l2), 409, "already_in_lobby")
    assert join(a, l1).status == 200  # re-joining one's own lobby is fine
    assert leave(a, l1).status == 204
    assert join(a, l2).status == 200


def test_join_notifies_members_and_ready(cat):
    """Catches: member_joined not sent to the others; ready not recorded."""
    a, b = User(), User()
    lid = create(a, cat.game).json()["id"]
    assert join(b, lid).status == 200
    j = [i["data"] for i in inbox(a.user) if i["type"] == "lobby.member_joined"]
    assert j and j[0]["user_id"] == b.user and j[0]["lobby_id"] == lid
    assert "lobby.member_joined" not in [i["type"] for i in inbox(b.user)]
    r = ready(b, lid)
    assert [m["ready"] for m in r.json()["members"]] == [False, True]
    r = ready(b, lid, False)
    assert [m["ready"] for m in r.json()["members"]] == [False, False]


def test_listing_pages_and_filters(cat):
    """Catches: private or full lobbies listed, pages that repeat or skip,
    a bad cursor accepted."""
    owners = [User() for _ in range(3)]
    ids = [create(o, cat.game8, max_players=2).json()["id"] for o in owners]
    full = ids[0]
    assert join(User(), full).status == 200
    priv = create(User(), cat.game8, visibility="private").json()["id"]
    seen, cursor = [], None
    for _ in range(20):
        q = f"/v1/lobbies?game_id={cat.game8}&limit=1"
        if cursor:
            q += "&cursor=" + cursor
        r = http("GET", q, token=owners[0].token)
        assert r.status == 200, r
        page = r.json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)), seen
    assert ids[1] in seen and ids[2] in seen
    assert full not in seen and priv not in seen
    assert seen.index(ids[2]) < seen.index(ids[1])  # newest first
    g = f"game_id={cat.game8}"
    for q in (g + "&cursor=zz", g + "&cursor=1." + "g" * 32, g + "&limit=0",
              g + "&limit=101", "game_id=x", "game_id=0", "limit=5"):
        r = http("GET", "/v1/lobbies?" + q, token=owners[0].token)
        assert_problem(r, 400, "invalid_request")


def listing(u, game, limit=100):
    """Every lobby the listing of game shows u, page after page."""
    seen, cursor = [], None
    for _ in range(50):
        q = f"/v1/lobbies?game_id={game}&limit={limit}"
        r = http("GET", q + ("&cursor=" + cursor if cursor else ""),
                 token=u.token)
        assert r.status == 200, r
        seen += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("the listing never ends")


def rows_key(game):
    return "vas:lobbies:{g%d}:rows" % game


def test_listing_one_row_per_lobby_under_racing_joins(cat):
    """Six users join a lobby at once, four lobbies over. Catches: a
    listing put that leaves the lobby's previous row beside its new one
    (every join changes the row: the lobby listed twice); racing puts
    are made atomic by MULTI/EXEC, which this race rarely gets to test."""
    from test_notify_helpers import Redis
    game = Catalog(FakeAllocator()).game8  # a listing of its own
    lids = []
    for _ in range(4):
        owner, users = User(), [User() for _ in range(6)]
        lids.append(create(owner, game).json()["id"])
        barrier = threading.Barrier(len(users))

        def go(u, lid=lids[-1], b=barrier):
            b.wait()
            assert join(u, lid).status == 200

        with ThreadPoolExecutor(len(users)) as ex:
            for f in [ex.submit(go, u) for u in users]:
                f.result()
    ids = [x["id"] for x in listing(owner, game, limit=3)]
    assert sorted(ids) == sorted(lids), ids
    with Redis() as r:
        assert r.cmd("ZCARD", rows_key(game)) == len(lids)


def test_listing_pages_through_one_millisecond(cat):
    """Lobbies created in the same millisecond (written here as the listing
    writes its rows, lob_internal.h). Catches: a cursor that repeats or
    skips lobbies whose created time ties (they are ordered by id)."""
    from test_notify_helpers import Redis
    game = Catalog(FakeAllocator()).game8
    now = int(time.time() * 1000)
    ids = sorted(secrets.token_hex(16) for _ in range(5))
    with Redis() as r:
        for i in ids:
            r.cmd("ZADD", rows_key(game), "0", "%013d.%s.%013d.%s"
                  % (now, i, now + 60000, json.dumps({"id": i})))
        r.cmd("PEXPIRE", rows_key(game), "60000")
    for limit in (1, 2, 5):
        seen = [x["id"] for x in listing(User(), game, limit=limit)]
        assert seen == ids[::-1], (limit, seen)


def test_quick_match_fullest_then_create(cat):
    """Catches: quick-match creating a lobby while one has a free seat, or
    not picking the fullest."""
    game = Catalog(FakeAllocator()).game8  # a game nobody else lists
    a, b, c = User(), User(), User()
    small = create(a, game).json()["id"]
    big = create(b, game).json()["id"]
    assert join(c, big).status == 200
    d = User()
    r = d.call("POST", "/v1/lobbies/quick-match", {"game_id": game})
    assert r.status == 200 and r.json()["id"] == big, r
    e = User()
    r = e.call("POST", "/v1/lobbies/quick-match", {"game_id": cat.pass_game})
    assert r.status == 200 and r.json()["owner"] == e.user, r
    assert small != r.json()["id"]


def test_bad_input_is_4xx_and_creates_nothing(cat):
    """Catches: 500s or half-created lobbies/claims on bad input."""
    u = User()
    before = set(redis_keys("vas:lobby:*"))
    cases = [
        ({"game_id": 999999999}, 404),
        ({"game_id": cat.ringtone}, 400),
        ({"game_id": cat.game, "max_players": 1}, 400),
        ({"game_id": cat.game, "max_players": 5}, 400),
        ({"game_id": cat.game, "max_players": "4"}, 400),
        ({"game_id": "1"}, 400),
        ({}, 400),
        ({"game_id": cat.game, "visibility": "secret"}, 400),
        ({"game_id": cat.game, "name": ""}, 400),
        ({"game_id": cat.game, "name": "x" * 65}, 400),
        ({"game_id": cat.game, "name": "tab\there"}, 400),
    ]
    for body, status in cases:
        assert_problem(create(u, **body) if False else
                       u.call("POST", "/v1/lobbies", body), status)
    raws = [b'{"game_id": %d, "name": "a\\u0000b"}' % cat.game,
            b'{"game_id": %d, "name": "\xff\xfe"}' % cat.game,
            b'{"game_id": %d, "name": "\xed\xa0\x80"}' % cat.game,
            b'{"game_id": ', b'[1]', b'{"game_id": 1}garbage']
    for raw in raws:
        r = http("POST", "/v1/lobbies", raw=raw, token=u.token)
        assert 400 <= r.status < 500, (raw, r)
    lid = create(User(), cat.game).json()["id"]
    for path in ("/v1/lobbies/nothex", "/v1/lobbies/" + "0" * 32,
                 "/v1/lobbies/" + "A" * 32):
        assert_problem(u.call("GET", path), 404)
        assert_problem(u.call("POST", path + "/join"), 404)
    for body in ({"ready": "yes"}, {}, {"ready": None}):
        assert_problem(u.call("POST", f"/v1/lobbies/{lid}/ready", body), 400)
    for body in ({"user_ids": []}, {"user_ids": "x"}, {"user_ids": [1]},
                 {"user_ids": ["a"] * 17}, {"user_ids": [""]}):
        assert_problem(u.call("POST", f"/v1/lobbies/{lid}/invite", body), 400)
    r = http("POST", f"/v1/lobbies/{lid}/join", token="bad")
    assert_problem(r, 401)
    after = set(redis_keys("vas:lobby:*"))
    new = {k for k in after - before if lid not in k}
    assert not new, new
    assert claim(u.user) is None
    assert create(u, cat.game).status == 201
