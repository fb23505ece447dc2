"""Catalog reads cost O(page), not O(catalog) (issue 15).

`vasctl catalog page --rows-read` runs the exact code and SQL of
GET /v1/catalog/items on its own session and prints the session's
Handler_read_* delta (rows and index entries the server read for it). With
a few thousand items loaded, a page that reads the catalog (the old plan:
driven from providers, every active item read, sorted, then LIMIT) reads
thousands; a page from an index in sort order reads a small multiple of
`limit` whatever the catalog's size.
"""
import json
import os
import re
import subprocess

import pytest

from conftest import ENV, ROOT, db_connect, db_query, http, vasctl

ITEMS = 3000
LIMIT = 10
# Index entries + the page's rows + their provider, category and assets,
# and the GROUP BY: about 10 reads per item of the page.
PAGE_READS_MAX = 15 * (LIMIT + 1) + 40


SCALE = ("UPDATE items i JOIN providers p ON p.id = i.provider_id"
         " SET i.status = %s WHERE p.code = 'scale'")


@pytest.fixture(scope="module")
def scale_items():
    """ITEMS generated items while this module runs; retired afterwards so
    the suites after it see the catalog they expect (the generated items'
    files do not exist)."""
    env = dict(os.environ, **ENV)
    subprocess.run([str(ROOT / "scripts/bench/catalog_data.sh"), str(ITEMS)],
                   check=True, env=env, capture_output=True)
    db_query(SCALE, ("active",))
    n = db_query("SELECT COUNT(*) FROM items i JOIN providers p ON"
                 " p.id = i.provider_id WHERE p.code = 'scale'")[0][0]
    assert n >= ITEMS
    yield n
    db_query(SCALE, ("retired",))
    db_query("UPDATE catalog_meta SET generation = generation + 1 WHERE id = 1")


def page(*args):
    p = vasctl("catalog", "page", "--rows-read", "--limit", str(LIMIT), *args)
    m = re.search(r"rows_read (-?\d+)", p.stderr)
    assert m, p.stderr
    import json
    return json.loads(p.stdout), int(m.group(1))


FILTERS = [[], ["--kind", "ringtone"], ["--kind", "game"],
           ["--category", "scale-rt-3"], ["--category", "scale-gm-1"]]
SORTS = ["popular", "new", "price_asc", "price_desc"]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("filt", FILTERS, ids=lambda f: "-".join(f) or "all")
def test_list_page_reads_a_multiple_of_limit(scale_items, sort, filt):
    """Catches a page that reads the catalog (or the category) to sort it:
    first and second page both stay under PAGE_READS_MAX."""
    first, reads = page("--sort", sort, *filt)
    assert len(first["items"]) == LIMIT and first["next_cursor"]
    assert reads <= PAGE_READS_MAX, (sort, filt, reads)
    second, reads = page("--sort", sort, "--cursor", first["next_cursor"],
                         *filt)
    assert len(second["items"]) == LIMIT
    assert reads <= PAGE_READS_MAX, (sort, filt, reads)
    assert not {i["id"] for i in first["items"]} & {
        i["id"] for i in second["items"]}


def test_kind_of_another_category_reads_nothing(scale_items):
    """A kind that is not the category's matches nothing without walking
    the category."""
    p, reads = page("--category", "scale-gm-0", "--kind", "ringtone")
    assert p["items"] == [] and p["next_cursor"] is None
    assert reads <= 10


def like_ids(term, order):
    return [r[0] for r in db_query(
        "SELECT id FROM items WHERE status = 'active' AND search_text LIKE"
        " %s ORDER BY " + order, ("%" + term + "%",))]


@pytest.mark.parametrize("term", ["琵琶", "乐玉", "love", "ove", "琵琶 love"])
def test_search_reads_its_matches_not_the_catalog(scale_items, term):
    """Catches search by LIKE over every row (reads >= the catalog), and an
    index that loses matches (the page must equal the LIKE scan's)."""
    terms = term.split()
    rows = None
    for t in terms:
        ids = like_ids(t, "popularity DESC, id DESC")
        rows = ids if rows is None else [i for i in rows if i in set(ids)]
    p, reads = page("--q", term)
    assert [i["id"] for i in p["items"]] == rows[:LIMIT]
    # The rarest gram's matches are read (about 4 reads each), never the
    # catalog: ~1% of ITEMS for the CJK words, 2% for "love".
    assert reads <= 6 * len(like_ids(terms[0], "id")) + PAGE_READS_MAX
    assert reads < scale_items / 2


ORDERS = {"popular": "popularity DESC, id DESC", "new": "id DESC",
          "price_asc": "price ASC, id ASC", "price_desc": "price DESC, id DESC"}


def walked_pages(term, sort, old_reads_per_match):
    """First and next page of term equal the LIKE scan's, each read within
    PAGE_READS_MAX, which the rarest-gram plan (old_reads_per_match reads
    per match of term, all of them sorted) could not meet."""
    want = like_ids(term, ORDERS[sort])
    assert len(want) * old_reads_per_match > PAGE_READS_MAX
    first, reads = page("--q", term, "--sort", sort)
    assert [i["id"] for i in first["items"]] == want[:LIMIT]
    assert reads <= PAGE_READS_MAX, reads
    second, reads = page("--q", term, "--sort", sort, "--cursor",
                         first["next_cursor"])
    assert [i["id"] for i in second["items"]] == want[LIMIT:2 * LIMIT]
    assert reads <= PAGE_READS_MAX, reads


@pytest.mark.parametrize("sort", SORTS)
def test_cjk_word_search_reads_the_page_not_its_matches(scale_items, sort):
    """A one-word CJK search walks its gram's postings in the sort's order
    (migration 021) and stops after the page: "琵" is in ~3% of the items
    (~90 here), which the rarest-gram plan reads and sorts (~4 reads each,
    above PAGE_READS_MAX); first and next page equal the LIKE scan's."""
    walked_pages("琵", sort, 4)


@pytest.mark.parametrize("sort", SORTS)
def test_latin_word_search_reads_the_page_not_its_matches(scale_items, sort):
    """A Latin word walks the postings of its rarest bigram (the optimizer's
    estimate picks "ov" of "love", in "love" only, not "lo", which is also
    in "flower", "melody" and "cloud") in sort order and stops after the
    page. "love" is in 2% of the items (~60 here), which the rarest-gram
    plan reads and sorts (~6 reads each, above PAGE_READS_MAX): catches
    Latin words left on that plan. First and next page equal the LIKE
    scan's."""
    walked_pages("love", sort, 6)


def test_search_walks_the_rarest_gram(scale_items):
    """"lovx": its first bigrams are common ("lo" in 8% of the items), "vx"
    is in none. A walk of the first bigram would read its bound (about 40
    rows per row of the page) before giving up; the optimizer's estimate
    makes the walk start from "vx" and read nothing. A word whose matches
    are in another word's items only ("琵琶 love", "love 琵琶": none here)
    still answers as LIKE does."""
    p, reads = page("--q", "lovx")
    assert p["items"] == [] and reads <= 20, reads
    for q in ("琵琶 love", "love 琵琶", "oo lo", "琵 ve"):
        want = None
        for t in q.split():
            ids = like_ids(t, "price DESC, id DESC")
            want = ids if want is None else [i for i in want if i in set(ids)]
        p, _ = page("--q", q, "--sort", "price_desc")
        assert [i["id"] for i in p["items"]] == want[:LIMIT], q


def test_search_keys_follow_popularity_and_price(scale_items):
    """The postings' copies of popularity and price move with the item
    (trigger items_grams_upd_keys): catches a walk ordered by stale keys."""
    iid = like_ids("琵", "id")[0]
    pop, price = db_query("SELECT popularity, price FROM items WHERE id = %s",
                          (iid,))[0]
    try:
        db_query("UPDATE items SET popularity = 999999999, price = 1"
                 " WHERE id = %s", (iid,))
        for sort in ("popular", "price_asc"):
            p, _ = page("--q", "琵", "--sort", sort)
            assert p["items"][0]["id"] == iid, sort
    finally:
        db_query("UPDATE items SET popularity = %s, price = %s WHERE id = %s",
                 (pop, price, iid))


def test_search_single_characters_and_no_match(scale_items):
    """Unigrams are indexed too: a one-character CJK term finds its items;
    a term that no item has reads almost nothing."""
    p, _ = page("--q", "琵", "--sort", "new")
    assert [i["id"] for i in p["items"]] == like_ids("琵", "id DESC")[:LIMIT]
    p, reads = page("--q", "zzqx")
    assert p["items"] == [] and reads <= 20


@pytest.mark.parametrize("term", ["loon", "林琵琶", "moon 琵琶乐", "mountan"])
def test_no_match_with_common_bigrams_reads_almost_nothing(scale_items, term):
    """A word with no match whose bigrams are all common: "loon" ("lo",
    "oo" and "on" are in 2-8% of the items), "林琵琶" ("林琵" and "琵琶" are
    two of the generator's words, ~1% each, never adjacent). With bigrams
    only, the walk read the rarest bigram's postings to the end (~2 reads
    each, ~60-120 here, 20,000-40,000 at 1,000,000 items); its trigrams
    ("loo", "林琵琶": in no item) end it at once (migration 027). Catches a
    search that falls back to bigrams or walks another word's gram ("moon":
    2%) instead of the rarest, or looks up only a word's first four
    trigrams ("mountan": "mou", "oun", "unt", "nta" are in every
    "mountain"; "tan", the fifth, in no item)."""
    for t in term.split():
        assert like_ids(t, "id") == [] or t == "moon"
    p, reads = page("--q", term)
    assert p["items"] == [] and p["next_cursor"] is None
    assert reads <= 20, reads


def test_grams_follow_the_title(scale_items):
    """The item_grams triggers: a changed search_text is searchable at once
    and the old text is not (catches an index maintained only on insert)."""
    iid = db_query("SELECT MIN(i.id) FROM items i JOIN providers p ON"
                   " p.id = i.provider_id WHERE p.code = 'scale'")[0][0]
    old = db_query("SELECT search_text FROM items WHERE id = %s", (iid,))[0][0]
    try:
        db_query("UPDATE items SET search_text = 'zebra 斑马乐章' WHERE id = %s",
                 (iid,))
        p, _ = page("--q", "马乐")
        assert [i["id"] for i in p["items"]] == [iid]
        p, _ = page("--q", "ebr")
        assert [i["id"] for i in p["items"]] == [iid]
    finally:
        db_query("UPDATE items SET search_text = %s WHERE id = %s", (old, iid))
    p, _ = page("--q", "马乐")
    assert p["items"] == []


def trigger_grams(text, pop, price, iid):
    """The rows items_grams_ins writes for one item (migrations 012/021/027):
    every 1-, 2- and 3-character substring without a blank."""
    return {(text[k:k + n], iid, pop, price) for n in (1, 2, 3)
            for k in range(len(text) - n + 1) if " " not in text[k:k + n]}


def test_bulk_load_writes_the_triggers_grams(scale_items):
    """catalog_data.sh fills item_grams set-based with the insert trigger
    and item_grams' keys dropped: catches grams missing, extra or with stale
    keys, and a load that leaves the trigger or a key behind (an item
    inserted afterwards must get its grams)."""
    items = db_query(
        "SELECT i.id, i.search_text, i.popularity, i.price FROM items i"
        " JOIN providers p ON p.id = i.provider_id WHERE p.code = 'scale'")
    want = set()
    for iid, text, pop, price in items:
        want |= trigger_grams(text, pop, price, iid)
    got = set(db_query(
        "SELECT g.gram, g.item_id, g.popularity, g.price FROM item_grams g"
        " JOIN items i ON i.id = g.item_id JOIN providers p"
        " ON p.id = i.provider_id WHERE p.code = 'scale'"))
    assert len(items) >= ITEMS and got == want
    keys = db_query("SELECT INDEX_NAME FROM information_schema.STATISTICS"
                    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME ="
                    " 'item_grams' GROUP BY INDEX_NAME")
    assert sorted(k[0] for k in keys) == ["PRIMARY", "ix_item_grams_item",
                                    "ix_item_grams_popular",
                                    "ix_item_grams_price"]
    db_query("INSERT INTO items (provider_id, sku, kind, title, category_id,"
             " price, currency, status, search_text, popularity, created_at,"
             " updated_at) SELECT provider_id, 'SC-after-load', kind,"
             " 'x', category_id, 5, 'CNY', 'retired', 'ab 乐章', 7,"
             " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) FROM items WHERE id = %s",
             (items[0][0],))
    try:
        iid = db_query("SELECT id FROM items WHERE sku = 'SC-after-load'")[0][0]
        got = set(db_query("SELECT gram, item_id, popularity, price FROM"
                           " item_grams WHERE item_id = %s", (iid,)))
        assert got == trigger_grams("ab 乐章", 7, 5, iid)
    finally:
        db_query("DELETE FROM items WHERE sku = 'SC-after-load'")


def migration_statements(name):
    """The statements of a migration file, split as gw_migrate.c does (on
    ";" at the end of a line), comments dropped."""
    text = (ROOT / "migrations" / name).read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith("--")]
    return [st.strip() for st in re.split(r";\s*$", "\n".join(lines),
                                         flags=re.M) if st.strip()]


def test_gram_repair_restores_items_written_during_a_trigger_swap(
        scale_items):
    """Migration 031: an item written between 027's DROP TRIGGER and CREATE
    TRIGGER has no 1-/2-character postings (only the trigram backfill's),
    one updated in that window none at all. Catches a repair that misses
    either, writes grams other than the trigger's (or stale sort keys), or
    touches items that were never in a window."""
    rows = db_query(
        "SELECT i.id, i.search_text, i.popularity, i.price FROM items i"
        " JOIN providers p ON p.id = i.provider_id WHERE p.code = 'scale'"
        " ORDER BY i.id LIMIT 2")
    (a, ta, pa, ca), (b, tb, pb, cb) = rows
    db_query("DELETE FROM item_grams WHERE item_id = %s"
             " AND CHAR_LENGTH(gram) < 3", (a,))  # inserted in the window
    db_query("DELETE FROM item_grams WHERE item_id = %s", (b,))  # updated
    before = db_query("SELECT COUNT(*) FROM item_grams")[0][0]
    removed = len([g for g in trigger_grams(ta, pa, ca, a)
                   if len(g[0]) < 3]) + len(trigger_grams(tb, pb, cb, b))
    assert removed > 0
    for st in migration_statements("031_gram_repair.sql"):
        db_query(st)
    for iid, text, pop, price in ((a, ta, pa, ca), (b, tb, pb, cb)):
        got = set(db_query("SELECT gram, item_id, popularity, price FROM"
                           " item_grams WHERE item_id = %s", (iid,)))
        assert got == trigger_grams(text, pop, price, iid), iid
    # Only those two items changed; a second run finds nothing to repair.
    assert db_query("SELECT COUNT(*) FROM item_grams")[0][0] == (
        before + removed)
    for st in migration_statements("031_gram_repair.sql"):
        db_query(st)
    assert db_query("SELECT COUNT(*) FROM item_grams")[0][0] == (
        before + removed)


def test_sort_key_migration_reruns_and_ids_continue(scale_items):
    """Migration 035 run again over a catalog with items (as `vasctl
    migrate` runs it on a server upgraded with data): the id sequence never
    goes back below an existing id, items inserted by plain SQL get the next
    ids and both packed sort keys, and every item's keys are key * 2^32 +
    id."""
    conn = db_connect()
    try:
        with conn.cursor() as cur:
            for st in migration_statements("035_item_sort_keys.sql"):
                cur.execute(st)
            cur.execute("SELECT MAX(id) FROM items")
            top = cur.fetchall()[0][0]
            cur.execute(
                "INSERT INTO items (provider_id, sku, kind, title,"
                " category_id, price, currency, status, search_text,"
                " popularity, created_at, updated_at) SELECT provider_id,"
                " 'SC-seq', kind, 'x', category_id, 7, 'CNY', 'retired',"
                " 'x', 3, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) FROM items"
                " ORDER BY id LIMIT 1 RETURNING id, sort_popular,"
                " sort_price")
            (iid, sp, spr), = cur.fetchall()
            conn.commit()
    finally:
        conn.close()
    try:
        assert iid > top
        assert (sp, spr) == (3 * 2**32 + iid, 7 * 2**32 + iid)
        assert db_query(
            "SELECT COUNT(*) FROM items WHERE sort_popular <>"
            " popularity * 4294967296 + id OR sort_price <>"
            " price * 4294967296 + id")[0][0] == 0
    finally:
        db_query("DELETE FROM items WHERE sku = 'SC-seq'")


def test_http_list_matches_vasctl_page(scale_items):
    """The API serves the same page (same code path)."""
    r = http("GET", "/v1/catalog/items?category=scale-rt-2&sort=price_desc"
             "&limit=%d" % LIMIT)
    assert r.status == 200
    p, _ = page("--category", "scale-rt-2", "--sort", "price_desc")
    assert [i["id"] for i in r.json()["items"]] == [
        i["id"] for i in p["items"]]


def test_category_added_by_a_feed_lists_at_once():
    """Each worker remembers a category's (id, kind) per catalog generation
    (catalog/cat_category.c). A slug asked for before any feed has it (an
    empty page, in both workers) must not be remembered as missing: once a
    feed adds it (a generation bump) its items list at once, and a kind
    that is not the category's still matches nothing. Catches a negative
    entry, or one not held to the generation."""
    from store_helpers import import_feed, make_feed
    from conftest import wait_until
    feed, tag = make_feed(n_items=2, games=[("pass", 7)])
    slug = "t-" + tag
    for n in range(1, 9):  # new reply-cache keys (limit): every worker asks
        r = http("GET", "/v1/catalog/items?category=%s&limit=%d" % (slug, n))
        assert r.status == 200 and r.json()["items"] == []
    import_feed(feed)
    want = {i["sku"] for i in feed["items"] if i["category"] == slug}

    def listed(n):
        r = http("GET", "/v1/catalog/items?category=%s&limit=%d" % (slug, n))
        return {i["sku"] for i in r.json()["items"]}
    wait_until(lambda: listed(20) == want, timeout=5)
    for n in range(10, 18):
        assert listed(n) == want, n
        r = http("GET", "/v1/catalog/items?category=%s&kind=game&limit=%d"
                 % (slug, n))
        assert r.status == 200 and r.json()["items"] == []
        r = http("GET", "/v1/catalog/items?category=%s-g&kind=game&limit=%d"
                 % (slug, n))
        assert [i["category"] for i in r.json()["items"]] == [slug + "-g"]


def test_popularity_is_folded_incrementally(scale_items):
    """The janitor adds new purchases to items.popularity from the mark it
    keeps in catalog_jobs: a recount from zero (what a failed refresh used
    to trigger) would drop the item's earlier count, here a generated one
    with no purchases behind it."""
    from conftest import wait_until
    iid, pop = db_query(
        "SELECT i.id, i.popularity FROM items i JOIN providers p ON"
        " p.id = i.provider_id WHERE p.code = 'scale' AND i.popularity > 10"
        " ORDER BY i.id LIMIT 1")[0]
    try:
        for _ in range(3):
            db_query("INSERT INTO purchases (buyer_user_id, subscriber_id,"
                     " recipient_user_id, item_id, amount, currency, status,"
                     " entitlement_id, balance_after, created_at) VALUES"
                     " ('pop-test', 0, 'pop-test', %s, 0, 'CNY', 'completed',"
                     " 0, 0, UTC_TIMESTAMP(3))", (iid,))
        top = db_query("SELECT MAX(id) FROM purchases WHERE buyer_user_id ="
                       " 'pop-test'")[0][0]
        wait_until(lambda: db_query("SELECT mark FROM catalog_jobs WHERE"
                                    " name = 'popularity'")[0][0] >= top,
                   timeout=15)
        assert db_query("SELECT popularity FROM items WHERE id = %s",
                        (iid,))[0][0] == pop + 3
    finally:
        db_query("DELETE FROM purchases WHERE buyer_user_id = 'pop-test'")


# --- item fragments (catalog/cat_frag.h) ---------------------------------

def list_ids_titles(path):
    r = http("GET", path)
    assert r.status == 200
    return [(i["id"], i["title"], i["provider"]["name"])
            for i in r.json()["items"]]


def test_fragments_follow_version_and_generation(scale_items):
    """Each worker caches every item's JSON keyed by (id, version,
    generation). Catches a fragment kept by id alone: an UPDATE of the row
    made behind the gateway's back (no generation bump) shows on the next
    uncached page, and so does a provider renamed with a generation bump.
    Every request is a new page key (limit), so the reply cache misses and
    both workers are asked several times."""
    iid, old, pname = db_query(
        "SELECT i.id, i.title, p.name FROM items i JOIN providers p ON"
        " p.id = i.provider_id WHERE p.code = 'scale' AND i.status ="
        " 'active' ORDER BY i.id DESC LIMIT 1 OFFSET 5")[0]
    from base64 import urlsafe_b64encode
    cur = urlsafe_b64encode(b"v1.1.%d.%d" % (iid + 1, iid + 1)).decode()
    cur = cur.rstrip("=")
    path = "/v1/catalog/items?sort=new&cursor=%s&limit=" % cur
    for n in range(1, 9):  # warm the fragments in both workers
        assert list_ids_titles(path + str(n))[0] == (iid, old, pname)
    try:
        db_query("UPDATE items SET title = %s WHERE id = %s",
                 (old + " v2", iid))
        for n in range(9, 17):
            assert list_ids_titles(path + str(n))[0] == (iid, old + " v2",
                                                         pname)
        db_query("UPDATE providers SET name = %s WHERE code = 'scale'",
                 (pname + " v2",))
        db_query("UPDATE catalog_meta SET generation = generation + 1"
                 " WHERE id = 1")
        import time
        time.sleep(0.3)  # CAT_GEN_POLL_MS: the host's copy of the generation
        for n in range(17, 25):
            assert list_ids_titles(path + str(n))[0] == (iid, old + " v2",
                                                         pname + " v2")
    finally:
        db_query("UPDATE items SET title = %s WHERE id = %s", (old, iid))
        db_query("UPDATE providers SET name = %s WHERE code = 'scale'",
                 (pname,))
        db_query("UPDATE catalog_meta SET generation = generation + 1"
                 " WHERE id = 1")


def rename_provider_and_bump(code, name):
    """What a feed import does: the change and the generation bump in one
    transaction, behind the gateway's back (no refresh of the host copy)."""
    from conftest import db_connect
    conn = db_connect()
    try:
        conn.begin()
        with conn.cursor() as cur:
            cur.execute("UPDATE providers SET name = %s WHERE code = %s",
                        (name, code))
            cur.execute("UPDATE catalog_meta SET generation = generation + 1"
                        " WHERE id = 1")
        conn.commit()
    finally:
        conn.close()


def test_page_never_serves_fragments_older_than_its_generation(scale_items):
    """A list page that is not in the reply cache is rendered at the
    generation its own id query read, not at the host's copy (polled every
    CAT_GEN_POLL_MS): a fragment made before a bump is never joined into a
    page read after it. Here each round warms an item's fragment (the
    first request polls the host copy), renames its provider with a bump
    and asks at once, well within 250 ms of that poll, for new pages (new
    reply-cache keys) holding it. Catches fragments looked up at the host
    copy: the old name was served until the next poll (the flaky
    test_page_equals_vasctl_page_with_cold_and_warm_fragments, which
    compared a page with vasctl's right after the previous test's
    restoring bump)."""
    import time
    from base64 import urlsafe_b64encode
    iid, pname = db_query(
        "SELECT i.id, p.name FROM items i JOIN providers p ON"
        " p.id = i.provider_id WHERE p.code = 'scale' AND i.status ="
        " 'active' ORDER BY i.id DESC LIMIT 1 OFFSET 40")[0]
    cur = urlsafe_b64encode(b"v1.1.%d.%d" % (iid + 1, iid + 1)).decode()
    path = "/v1/catalog/items?sort=new&cursor=%s&limit=" % cur.rstrip("=")
    stale = []
    try:
        for rnd in range(3):
            base = 30 * rnd
            time.sleep(0.3)  # CAT_GEN_POLL_MS: the next request polls
            for n in range(base + 1, base + 9):  # warm, in both workers
                assert list_ids_titles(path + str(n))[0][2] == pname
            name = "%s r%d" % (pname, rnd)
            rename_provider_and_bump("scale", name)
            for n in range(base + 9, base + 25):
                got = list_ids_titles(path + str(n))[0]
                assert got[0] == iid
                if got[2] != name:
                    stale.append((rnd, n, got[2]))
            rename_provider_and_bump("scale", pname)
    finally:
        rename_provider_and_bump("scale", pname)
    assert stale == [], (len(stale), stale[:4])


def test_page_equals_vasctl_page_with_cold_and_warm_fragments(scale_items):
    """A page assembled from cached fragments is byte for byte the page
    rendered from MariaDB (vasctl has no fragment cache), for every sort, a
    category and a search, first page and next (catches a fragment joined
    with a wrong separator, a wrong cursor or items out of order)."""
    for args in (["--sort", "popular"], ["--sort", "new"],
                 ["--sort", "price_asc", "--category", "scale-rt-1"],
                 ["--sort", "price_desc", "--kind", "game"],
                 ["--q", "love"]):
        query = "&".join("%s=%s" % (args[k].lstrip("-"), args[k + 1])
                         for k in range(0, len(args), 2))
        # Growing limits: each page is a new reply-cache key whose first
        # items' fragments the earlier pages cached (in one worker or both).
        for limit in range(5, 11):
            want = vasctl("catalog", "page", "--limit", str(limit),
                          *args).stdout.strip()
            for _ in range(2):
                r = http("GET", "/v1/catalog/items?limit=%d&%s"
                         % (limit, query))
                assert r.status == 200
                assert r.body.decode() == want, (args, limit)


def catalog_counters(cache, names):
    """vasgw_catalog_<cache>_<name>_total of /metrics, for each name."""
    r = http("GET", "/metrics")
    assert r.status == 200
    text = r.body.decode()
    out = {}
    for name in names:
        m = re.search(r"^vasgw_catalog_%s_%s_total (\d+)$" % (cache, name),
                      text, re.M)
        assert m, name
        out[name] = int(m.group(1))
    return out


def fragment_metrics():
    return catalog_counters("fragment", ("hits", "misses"))


def test_fragment_cache_hits_and_misses_are_metrics(scale_items):
    """vasgw_catalog_fragment_{hits,misses}_total count the items of
    uncached pages: one page read twice under two reply-cache keys is its
    items' misses or hits, then only hits (the cache is the host's, so
    either worker finds them); an item whose row changed is one miss
    (catches counters per page instead of per item, and a cache that
    serves a changed item)."""
    base = "/v1/catalog/items?sort=new&category=scale-rt-2&limit=%d"
    limit = 30 + int.from_bytes(os.urandom(1), "big") % 40
    before = fragment_metrics()
    r = http("GET", base % limit)
    assert r.status == 200
    ids = [i["id"] for i in json.loads(r.body)["items"]]
    assert len(ids) == limit
    first = fragment_metrics()
    assert (first["hits"] + first["misses"]
            - before["hits"] - before["misses"]) == limit
    for k in (1, 2):
        r = http("GET", base % (limit - k))
        assert r.status == 200
        now = fragment_metrics()
        assert now["misses"] == first["misses"], k
        assert now["hits"] - first["hits"] == limit - k, k
        first = now
    db_query("UPDATE items SET popularity = popularity + 1 WHERE id = %s",
             (ids[0],))
    r = http("GET", base % (limit - 3))
    assert r.status == 200
    now = fragment_metrics()
    assert now["misses"] - first["misses"] == 1
    assert now["hits"] - first["hits"] == limit - 4


# --- the reply cache -----------------------------------------------------

def cache_metrics():
    return catalog_counters("cache", ("hits", "stale", "misses"))


def test_cache_key_is_the_normalised_query(scale_items):
    """Padding, case, full-width letters and parameter order do not mint
    new entries. The cache is per worker process, so three forms asked four
    times each render at most once per process (catches keys made of the
    raw query string: at least one render per form)."""
    tag = "%x" % int.from_bytes(os.urandom(3), "big")
    forms = ["/v1/catalog/items?q=love+%s&limit=4&sort=new" % tag,
             "/v1/catalog/items?sort=new&limit=4&q=%%20LOVE%%20%%20%s%%20"
             % tag.upper(),
             "/v1/catalog/items?limit=4&q=%%EF%%BD%%8Cove+%s&sort=new" % tag]
    before = cache_metrics()
    etags = set()
    for _ in range(4):
        for path in forms:
            r = http("GET", path)
            assert r.status == 200
            etags.add(r.headers["etag"])
    after = cache_metrics()
    assert len(etags) == 1
    workers = 2  # [server] workers of the test stack
    assert after["misses"] - before["misses"] <= workers, (before, after)


def test_expired_entry_is_refilled_by_one_request(scale_items):
    """Stale-while-revalidate with single flight: when an entry expires,
    one request per worker process renders it and the concurrent others
    are served the previous body (old behaviour: every request that found
    it expired rendered it — the stampede)."""
    import threading
    path = "/v1/catalog/items?q=o&limit=50&sort=price_asc"
    assert http("GET", path).status == 200
    import time
    time.sleep(5.3)  # CAT_CACHE_TTL_MS
    before = cache_metrics()
    results, barrier = [], threading.Barrier(24)

    def get():
        barrier.wait()
        results.append(http("GET", path).status)

    threads = [threading.Thread(target=get) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 24
    after = cache_metrics()
    served = sum(after[k] - before[k] for k in after)
    assert served >= 24
    workers = 2  # [server] workers of the test stack
    assert after["misses"] - before["misses"] <= workers, (before, after)
