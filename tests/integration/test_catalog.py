"""Catalog browsing, search, cache invalidation, admin items, feed import."""
import base64
import json
import secrets
import urllib.parse

from conftest import assert_problem, db_query, http
from store_helpers import CONTENT, import_feed, make_feed, midi_bytes, write_file


def page(**q):
    r = http("GET", "/v1/catalog/items?" + urllib.parse.urlencode(q))
    assert r.status == 200, r
    return r.json()


def walk(**q):
    seen, cursor = [], None
    for _ in range(100):
        args = dict(q)
        if cursor:
            args["cursor"] = cursor
        p = page(**args)
        seen += [i["id"] for i in p["items"]]
        cursor = p["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("no end")


def test_pagination_sorts_and_inserts(admin_key):
    feed, tag = make_feed(9, price=100)
    import_feed(feed)
    cat = f"t-{tag}"
    full = walk(category=cat, sort="new", limit=2)
    assert len(full) == 9 == len(set(full))
    assert full == sorted(full, reverse=True)
    prices = [i["price"] for i in page(category=cat, sort="price_asc",
                                       limit=100)["items"]]
    assert prices == sorted(prices)
    desc = [i["price"] for i in page(category=cat, sort="price_desc",
                                     limit=100)["items"]]
    assert desc == sorted(desc, reverse=True)
    # Walk price_asc while new items are inserted: no duplicates, no gaps.
    seen, cursor = [], None
    pid = db_query("SELECT id FROM providers WHERE code = %s",
                   (f"p-{tag}",))[0][0]
    for n in range(20):
        args = {"category": cat, "sort": "price_asc", "limit": 2}
        if cursor:
            args["cursor"] = cursor
        p = page(**args)
        seen += [i["id"] for i in p["items"]]
        f = write_file(f"t-{tag}/X{n}.mid", midi_bytes())
        r = http("POST", "/v1/admin/items",
                 {"kind": "ringtone", "sku": f"X{tag.upper()}-{n}",
                  "title": f"Inserted {n}", "provider_id": pid,
                  "category": cat, "price": 50 + n,
                  "assets": [{"format": "midi", "path": f["path"]}]},
                 token=admin_key)
        assert r.status == 201, r
        cursor = p["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert set(full) <= set(seen)


def test_filters_and_search():
    feed, tag = make_feed(3)
    import_feed(feed)
    for q in ("测试铃声", "铃声", "TEST TONE " + tag, "tone " + tag.upper(),
              "ｔｅｓｔ " + tag):
        got = page(q=q, limit=100)["items"]
        assert {i["sku"] for i in got} >= {f"T{tag.upper()}-000"}, q
    assert page(q="不存在的歌名" + tag)["items"] == []
    assert all(i["kind"] == "game" for i in page(kind="game")["items"])
    assert_problem(http("GET", "/v1/catalog/items?kind=x"), 400)
    assert_problem(http("GET", "/v1/catalog/items?sort=x"), 400)
    assert_problem(http("GET", "/v1/catalog/items?limit=0"), 400)
    assert_problem(http("GET", "/v1/catalog/items?limit=101"), 400)
    assert_problem(http("GET", "/v1/catalog/items?cursor=zz"), 400)
    cats = http("GET", "/v1/catalog/categories").json()["items"]
    assert any(c["slug"] == f"t-{tag}" and c["item_count"] == 3 for c in cats)
    ch = http("GET", "/v1/catalog/charts?kind=ringtone&period=week")
    assert ch.status == 200 and "items" in ch.json()


def test_etag_and_price_change_and_retire(admin_key):
    feed, tag = make_feed(1, price=100)
    import_feed(feed)
    iid = db_query("SELECT id FROM items WHERE sku = %s",
                   (f"T{tag.upper()}-000",))[0][0]
    r = http("GET", f"/v1/catalog/items/{iid}")
    etag = r.headers["etag"]
    r2 = http("GET", f"/v1/catalog/items/{iid}",
              headers={"If-None-Match": etag})
    assert r2.status == 304 and r2.body == b""
    lst = http("GET", f"/v1/catalog/items?category=t-{tag}")
    assert http("GET", f"/v1/catalog/items?category=t-{tag}",
                headers={"If-None-Match": lst.headers["etag"]}).status == 304
    p = http("PATCH", f"/v1/admin/items/{iid}", {"price": 777},
             token=admin_key)
    assert p.status == 200 and p.json()["price"] == 777
    r3 = http("GET", f"/v1/catalog/items/{iid}")
    assert r3.json()["price"] == 777 and r3.headers["etag"] != etag
    assert page(category=f"t-{tag}")["items"][0]["price"] == 777
    assert http("GET", f"/v1/catalog/items/{iid}",
                headers={"If-None-Match": etag}).status == 200
    http("PATCH", f"/v1/admin/items/{iid}", {"status": "retired"},
         token=admin_key)
    assert_problem(http("GET", f"/v1/catalog/items/{iid}"), 404)
    assert page(category=f"t-{tag}")["items"] == []


def test_import_rejects_atomically_and_is_idempotent():
    feed, tag = make_feed(3)
    bad = json.loads(json.dumps(feed))
    bad["items"][1]["prcie"] = 5
    bad["items"][2]["assets"][0]["sha256"] = "0" * 64
    bad["items"][0]["price"] = -1
    p = import_feed(bad, check=False)
    assert p.returncode != 0
    assert "items[1]" in p.stdout and "prcie" in p.stdout
    assert "checksum mismatch" in p.stdout and "items[0]" in p.stdout
    assert db_query("SELECT COUNT(*) FROM providers WHERE code = %s",
                    (f"p-{tag}",))[0][0] == 0
    p = import_feed('{"feed_version": 1,\n "items": [\n  {,}]}', check=False)
    assert p.returncode != 0 and ":3:" in p.stdout, p.stdout
    assert import_feed(feed).stdout.strip().endswith(
        "3 created, 0 updated, 0 unchanged")
    assert import_feed(feed).stdout.strip().endswith(
        "0 created, 0 updated, 3 unchanged")
    feed["items"][0]["price"] = 999
    assert "1 updated" in import_feed(feed).stdout


def test_a_search_without_match_is_forgotten_when_the_catalog_changes(
        admin_key):
    """Each worker remembers searches that matched no item for the catalog
    generation (catalog/cat_nomatch.c) and answers them without SQL.
    Catches that memory outliving a catalog change (an item added through
    the admin API is found at once), being stored from an empty page after
    a cursor (the term has matches), or ignoring the filters (no game
    matches, the ringtones do). Several limits: several reply-cache keys,
    so the workers' search code answers, not the reply cache."""
    feed, tag = make_feed(2)
    import_feed(feed)
    word = f"qz{tag}zq"
    for limit in (5, 6, 7, 8):
        assert page(q=word, limit=limit)["items"] == []
    pid = db_query("SELECT id FROM providers WHERE code = %s",
                   (f"p-{tag}",))[0][0]
    f = write_file(f"t-{tag}/late.mid", midi_bytes())
    r = http("POST", "/v1/admin/items",
             {"kind": "ringtone", "sku": f"L{tag.upper()}", "title":
              f"Late {word}", "provider_id": pid, "category": f"t-{tag}",
              "price": 50, "assets": [{"format": "midi", "path": f["path"]}]},
             token=admin_key)
    assert r.status == 201, r
    for limit in (5, 6, 7, 8):
        got = page(q=word, limit=limit)["items"]
        assert [i["sku"] for i in got] == [f"L{tag.upper()}"], limit
    term = f"tone {tag}"
    past_end = base64.urlsafe_b64encode(b"v1.1.1.1").decode().rstrip("=")
    for limit in (5, 6, 7, 8):
        assert page(q=term, sort="new", limit=limit,
                    cursor=past_end)["items"] == []
        assert page(q=term, kind="game", limit=limit)["items"] == []
    assert len(page(q=term, limit=9)["items"]) == 2
    assert len(page(q=term, sort="new", limit=10)["items"]) == 2


def test_search_terms_that_are_not_utf8_are_refused_clearly():
    """Hardening (issue 11): q with bytes that are not UTF-8 (a stray
    0xFF, an overlong "/", a UTF-16 surrogate) answered 400 with the bare
    "Invalid request" from deep in the search's term splitter; now the
    problem says what is wrong, for every page and filter."""
    for raw in ("%FF", "lo%C0%AFve", "%ED%A0%80ab"):
        for extra in ("", "&kind=ringtone", "&sort=new&limit=5"):
            p = assert_problem(http("GET", f"/v1/catalog/items?q={raw}{extra}"),
                               400, "invalid_request")
            assert "UTF-8" in p["detail"], p


def test_cursors_at_the_edges_of_the_packed_sort_keys():
    """The popularity and price keysets are one range on key * 2^32 + id
    (migration 035, cat_packed_bound), sort=new's on the id itself, each
    an inclusive range from the end of the order (cat_page_range): a
    cursor's (key, id) anywhere, ours or not (keys past the 32-bit range,
    ids past 2^32, negative keys, the int64 extremes), pages
    exactly as the (key, id) order says."""
    feed, tag = make_feed(6, price=100)
    import_feed(feed)
    cat = f"t-{tag}"
    rows = db_query("SELECT i.id FROM items i JOIN categories c ON"
                    " c.id = i.category_id WHERE c.slug = %s ORDER BY i.id",
                    (cat,))
    ids = [r[0] for r in rows]
    top, big = 2**31 - 1, 2**63 - 1
    keys = [(top, 5), (top, 0), (0, top), (-2**31, 7), (7, 7), (7, 0)]
    for iid, (pop, price) in zip(ids, keys):
        db_query("UPDATE items SET popularity = %s, price = %s WHERE id = %s",
                 (pop, price, iid))
    items = {iid: keys[k] for k, iid in enumerate(ids)}

    def cursor(sort, key, cid):
        raw = f"v1.{sort}.{key}.{cid}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    edges = {-big - 1, -2**32, -2**31 - 1, -2**31, -1, 0, 1, 6, 7, 8,
             top - 1, top, top + 1, 2**32, big}
    cids = {0, 1, 2**32 - 1, 2**32, 2**32 + 1, big} | set(ids) \
        | {i + 1 for i in ids} | {i - 1 for i in ids}
    try:
        for sort, name, col, desc in ((0, "popular", 0, True),
                                      (1, "new", None, True),
                                      (2, "price_asc", 1, False),
                                      (3, "price_desc", 1, True)):
            def sort_key(i):  # sort=new's key is the id
                return (i if col is None else items[i][col], i)
            order = sorted(items, key=sort_key, reverse=desc)
            for key in edges | ({-big - 1, -1} | set(cids) if col is None
                                else set()):
                for cid in cids:
                    after = (key, cid)
                    want = [i for i in order
                            if (sort_key(i) < after if desc
                                else sort_key(i) > after)]
                    got = page(category=cat, sort=name, limit=100,
                               cursor=cursor(sort, key, cid))
                    assert [i["id"] for i in got["items"]] == want, \
                        (name, key, cid)
    finally:
        db_query("UPDATE items SET status = 'retired', popularity = 0,"
                 " price = 100 WHERE id IN (%s)" % ",".join(map(str, ids)))
