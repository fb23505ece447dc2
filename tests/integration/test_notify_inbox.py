"""GET /v1/notifications: polling with since (every notification once, in
delivery order, while purchases continue), malformed inbox members never
served, and GET /v1/admin/notifications/status for the operators' console."""
import configparser
import json
import secrets
import threading
import time

from conftest import ENV, assert_problem, db_connect, db_query, http, \
    mint_token, new_user, wait_until
from store_helpers import import_feed, make_feed
from test_notify_helpers import Redis, insert_outbox, redis_up, \
    stack_part, undelivered


def insert_outbox_late(user, age_s=10):
    """An outbox row whose id is age_s older than now: a transaction that
    took its id early and committed late (or a lobby event sent directly
    while an older purchase waited in the outbox)."""
    ms = int((time.time() - age_s) * 1000) & 0xFFFFFFFFFFFF
    nid = "%012x" % ms + secrets.token_hex(10)
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO outbox (notif_id, user_id, type, payload,"
                        " created_at) VALUES (%s, %s, 'gift.received',"
                        " '{\"late\":true}', UTC_TIMESTAMP(3))", (nid, user))
    finally:
        conn.close()
    return nid


def poll(token, since, limit=7):
    r = http("GET", "/v1/notifications?since=%s&limit=%d" % (since, limit),
             token=token)
    assert r.status == 200, r
    body = r.json()
    assert set(body) == {"items", "next_since"}, body
    return body


def _game(subscriber):
    feed, tag = make_feed(1, price=100, games=[("pass", 7)])
    import_feed(feed)
    r = http("GET", "/v1/catalog/items?kind=game&category=t-%s-g" % tag)
    items = r.json().get("items", []) if r.status == 200 else []
    return items[0] if items else None


def test_since_polling_sees_each_notification_once_while_purchases_continue(
        subscriber):
    """Catches since implemented as "ids greater than X": the late rows
    (older ids delivered after newer ones) would never be seen, and a
    cursor that re-reads its last item would see it twice."""
    sub = subscriber(balance=10000000)
    user, token = sub["user"], sub["token"]
    game = _game(subscriber)
    marker = insert_outbox(user, "gift.received", '{"marker":true}')
    assert wait_until(lambda: undelivered([marker]) == 0)
    stop = threading.Event()
    errors = []

    def load():
        # The inbox keeps the newest redis.inbox_max (200) items by id, so a
        # late row (an old id) arriving at a full inbox is trimmed at once:
        # stay under the cap so this measures polling, not trimming.
        i = 0
        while not stop.is_set() and i < 100:
            i += 1
            if game is not None:
                r = http("POST", "/v1/purchases", {"item_id": game["id"]},
                         token=token,
                         headers={"Idempotency-Key": secrets.token_hex(8)})
                if r.status != 201:
                    errors.append(r)
            else:
                insert_outbox(user)
            if i % 3 == 0:
                insert_outbox_late(user)
            time.sleep(0.02)

    t = threading.Thread(target=load)
    t.start()
    seen, since = [], marker
    try:
        end = time.time() + 6
        while time.time() < end:
            body = poll(token, since)
            seen += [it["id"] for it in body["items"]]
            since = body["next_since"]
            time.sleep(0.05)
    finally:
        stop.set()
        t.join()
    assert not errors, errors[:3]
    want = {r[0] for r in db_query("SELECT notif_id FROM outbox WHERE"
                                   " user_id = %s", (user,))} - {marker}
    assert wait_until(lambda: undelivered(want) == 0, timeout=30)
    for _ in range(200):
        body = poll(token, since, limit=100)
        if not body["items"]:
            assert body["next_since"] == since
            break
        seen += [it["id"] for it in body["items"]]
        since = body["next_since"]
    assert len(want) >= 20, "the load made too few notifications"
    assert len(seen) == len(set(seen)), "a notification was seen twice"
    assert set(seen) == want, "missed: %s" % sorted(want - set(seen))[:5]


def test_since_validation_and_unknown_id():
    token = mint_token(new_user())
    for q in ("since=xyz", "since=", "since=%28" + "a" * 32,
              "since=" + "a" * 32 + "&cursor=" + "b" * 32,
              "since=" + "a" * 32 + "&after=" + "b" * 32,
              "cursor=" + "a" * 32 + "&after=" + "b" * 32):
        assert_problem(http("GET", "/v1/notifications?" + q, token=token),
                       400, "invalid_request")
    user = new_user()
    ids = [insert_outbox(user) for _ in range(3)]
    assert wait_until(lambda: undelivered(ids) == 0)
    # An id that is not (or no longer) in the inbox: from the oldest kept.
    body = poll(mint_token(user), "0" * 32, limit=10)
    assert [i["id"] for i in body["items"]] == ids
    assert body["next_since"] == ids[-1]


def test_cursor_pages_like_after():
    user = new_user()
    ids = [insert_outbox(user) for _ in range(5)]
    assert wait_until(lambda: undelivered(ids) == 0)
    token = mint_token(user)
    r1 = http("GET", "/v1/notifications?limit=2", token=token).json()
    r2 = http("GET", "/v1/notifications?limit=2&cursor=" + r1["next_cursor"],
              token=token).json()
    r3 = http("GET", "/v1/notifications?limit=2&after=" + r1["next_after"],
              token=token).json()
    assert r2 == r3
    got = [i["id"] for i in r1["items"] + r2["items"]]
    assert got == sorted(ids, reverse=True)[:4]


def test_malformed_inbox_members_are_not_served():
    """Catches an inbox that pastes member texts into the body unchecked: a
    planted member made the whole answer invalid JSON."""
    user = new_user()
    ids = [insert_outbox(user) for _ in range(2)]
    assert wait_until(lambda: undelivered(ids) == 0)
    bad_id = "f" * 32
    planted = ['{"id":"' + bad_id + '","type":"x","created_at":',   # cut
               '{"id":"' + "e" * 32 + '"}garbage',
               'not json at all',
               '{"id":"' + "d" * 32 + '","type":"x","created_at":"t",'
               '"data":"not an object"}']
    with Redis() as r:
        for m in planted:
            r.cmd("ZADD", "vas:inbox:{%s}" % user, 0, m)
            r.cmd("XADD", "vas:inboxlog:{%s}" % user, "*", "id", m[7:39])
    token = mint_token(user)
    r = http("GET", "/v1/notifications?limit=100", token=token)
    assert r.status == 200
    body = json.loads(r.body)                     # valid JSON
    assert [i["id"] for i in body["items"]] == sorted(ids, reverse=True)
    body = poll(token, "0" * 32, limit=100)
    assert [i["id"] for i in body["items"]] == ids


def test_admin_status_backlog_and_dead_letters(admin_key):
    """The console's view: backlog grows while Redis is down (and drains),
    dead letters page newest first."""
    r = http("GET", "/v1/admin/notifications/status", token=admin_key)
    assert r.status == 200, r
    st = r.json()
    assert set(st) == {"relay", "webhooks"}
    assert set(st["relay"]) == {"backlog", "oldest_age_ms"}
    # Dead letters: three new ones, newest first, paged.
    eids = []
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            for i in range(3):
                eid = secrets.token_hex(16)
                cur.execute("INSERT INTO webhook_events (event_id,"
                            " provider_id, type, payload, state, attempts,"
                            " next_attempt_at, last_error, created_at) VALUES"
                            " (%s, 1, 'purchase.completed', '{}', 'failed',"
                            " 12, UTC_TIMESTAMP(3), 'HTTP 500',"
                            " UTC_TIMESTAMP(3))", (eid,))
                eids.append(eid)
    finally:
        conn.close()
    total = db_query("SELECT COUNT(*) FROM webhook_events WHERE state ="
                     " 'failed'")[0][0]
    p1 = http("GET", "/v1/admin/notifications/status?limit=2",
              token=admin_key).json()["webhooks"]["dead_letters"]
    assert p1["total"] == total
    assert [d["event_id"] for d in p1["items"]] == eids[::-1][:2]
    assert p1["items"][0]["last_error"] == "HTTP 500"
    assert p1["items"][0]["last_status"] is None
    p2 = http("GET", "/v1/admin/notifications/status?limit=2&before=%d"
              % p1["next_before"], token=admin_key).json()
    assert p2["webhooks"]["dead_letters"]["items"][0]["event_id"] == eids[0]
    # Backlog while Redis is down.
    user = new_user()
    stack_part("stop-part", "redis")
    try:
        assert not redis_up()
        ids = [insert_outbox(user) for _ in range(5)]
        time.sleep(1.2)
        st = http("GET", "/v1/admin/notifications/status",
                  token=admin_key).json()
        assert st["relay"]["backlog"] >= 5
        assert st["relay"]["oldest_age_ms"] >= 1000
    finally:
        stack_part("start-part", "redis")
    assert wait_until(lambda: undelivered(ids) == 0, timeout=30)
    # Bad input and the wrong caller.
    for q in ("limit=0", "limit=101", "limit=x", "before=0", "before=x"):
        assert_problem(http("GET", "/v1/admin/notifications/status?" + q,
                            token=admin_key), 400, "invalid_request")
    assert_problem(http("GET", "/v1/admin/notifications/status",
                        token=mint_token(new_user())), 403)
    assert_problem(http("GET", "/v1/admin/notifications/status"), 401)


def _inbox_ttl_s():
    ini = configparser.ConfigParser(strict=False,
                                    inline_comment_prefixes=(";",))
    ini.read(ENV["VAS_VASGW_INI"])
    return int(ini.get("redis", "inbox_ttl_s", fallback="2592000"))


def test_inbox_keys_expire_and_each_append_restarts_the_ttl():
    """Catches inbox keys without a TTL (the inbox and delivery log of a
    user who never comes back would stay in Redis forever, against
    maxmemory) and a TTL set only when the key is created (an inbox still
    receiving notifications would expire under its reader)."""
    ttl = _inbox_ttl_s()
    user = new_user()
    keys = ["vas:inbox:{%s}" % user, "vas:inboxlog:{%s}" % user]

    def deliver_and_check_ttls(n, age=False):
        """Delivers one notification; each key's TTL is (again) the whole
        inbox_ttl_s; age=True then shortens it, as if it had aged."""
        nid = insert_outbox(user, "gift.received", '{"n":%d}' % n)
        assert wait_until(lambda: undelivered([nid]) == 0)
        with Redis() as r:
            for k in keys:
                left = r.cmd("TTL", k)
                assert ttl - 60 < left <= ttl, (k, left)
                if age:
                    r.cmd("EXPIRE", k, 100)
        return nid

    first = deliver_and_check_ttls(1, age=True)
    second = deliver_and_check_ttls(2)
    token = mint_token(user)
    body = http("GET", "/v1/notifications?limit=10", token=token).json()
    assert [i["id"] for i in body["items"]] == [second, first]
