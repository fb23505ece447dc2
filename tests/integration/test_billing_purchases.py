"""The money rules on the real purchase path (POST /v1/purchases of a game
pass, which may be bought again and again): races on the conditional debit,
the same Idempotency-Key concurrently, workers killed mid-request.
Each test names the bug it exists to catch."""
import concurrent.futures as cf
import secrets
import time

import pytest

from conftest import assert_problem, audit_clean, db_query, http
from store_helpers import import_feed, make_feed
from test_billing import account, kill_workers_randomly

PRICE = 100


@pytest.fixture(scope="module")
def pass_item():
    feed, tag = make_feed(n_items=1, price=PRICE, games=[("pass", 1)])
    import_feed(feed)
    (row,) = db_query("SELECT id FROM items WHERE sku = %s",
                      (f"G{tag.upper()}-0",))
    return row[0]


def buy(s, item, key=None):
    return http("POST", "/v1/purchases", {"item_id": item}, token=s["token"],
                headers={"Idempotency-Key": key or secrets.token_hex(8)})


def charges(msisdn):
    return db_query("SELECT COUNT(*), COALESCE(SUM(t.amount), 0) FROM"
                    " ledger_txns t JOIN subscribers s ON s.id ="
                    " t.subscriber_id WHERE s.msisdn = %s AND t.kind ="
                    " 'charge'", (msisdn,))[0]


def assert_audit():
    ok, out = audit_clean()
    assert ok, out


def race(s, item, n):
    with cf.ThreadPoolExecutor(12) as ex:
        return list(ex.map(lambda _: buy(s, item), range(n)))


@pytest.mark.parametrize("k", [1, 4, 9])
def test_purchase_race_prepaid(subscriber, pass_item, k):
    """Exactly K of 3K+3 concurrent purchases succeed on a balance of K
    prices; the rest are 402 insufficient_funds; balance ends at 0
    (catches any read-then-write on the balance)."""
    s = subscriber(balance=k * PRICE)
    rs = race(s, pass_item, 3 * k + 3)
    ok = [r for r in rs if r.status == 201]
    assert len(ok) == k, rs
    for r in rs:
        if r.status != 201:
            assert_problem(r, 402, "insufficient_funds")
    assert account(s["msisdn"])["balance"] == 0
    assert tuple(charges(s["msisdn"])) == (k, k * PRICE)
    assert_audit()


def test_purchase_race_postpaid_to_credit_limit(subscriber, pass_item):
    """Postpaid: the balance ends at exactly -credit limit."""
    s = subscriber(plan="postpaid", credit_limit=6 * PRICE)
    rs = race(s, pass_item, 20)
    assert sum(r.status == 201 for r in rs) == 6
    assert account(s["msisdn"])["balance"] == -6 * PRICE
    assert_audit()


def test_purchase_race_daily_cap(subscriber, pass_item):
    """A daily cap of 5 prices with money for 100: exactly 5 succeed and
    the rest are 402 spend_cap_exceeded."""
    s = subscriber(balance=100 * PRICE, caps={"daily": 5 * PRICE})
    rs = race(s, pass_item, 16)
    assert sum(r.status == 201 for r in rs) == 5
    for r in rs:
        if r.status != 201:
            assert_problem(r, 402, "spend_cap_exceeded")
    assert account(s["msisdn"])["spent_day"] == 5 * PRICE
    assert_audit()


def test_purchase_same_key_concurrently_charges_once(subscriber, pass_item):
    """16 concurrent purchases with one key: one charge; the others replay
    the identical body or get 409 idempotency_in_progress."""
    s = subscriber(balance=10 * PRICE)
    key = secrets.token_hex(8)
    with cf.ThreadPoolExecutor(16) as ex:
        rs = list(ex.map(lambda _: buy(s, pass_item, key), range(16)))
    ok = [r for r in rs if r.status == 201]
    assert ok and all(r.body == ok[0].body for r in ok)
    for r in rs:
        if r.status != 201:
            assert_problem(r, 409, "idempotency_in_progress")
    assert tuple(charges(s["msisdn"])) == (1, PRICE)
    assert_audit()


def test_kill_workers_during_purchases(subscriber, pass_item):
    """kill -9 of workers at random moments during a loop of purchases;
    every key retried until answered: each key is charged exactly once and
    the audit is clean (catches a charge without its idempotency record,
    or a lock left behind by a dead worker)."""
    s = subscriber(balance=1000 * PRICE)
    keys = [secrets.token_hex(8) for _ in range(100)]

    with cf.ThreadPoolExecutor(9) as ex:
        k = ex.submit(kill_workers_randomly, 6)
        first = list(ex.map(lambda key: buy(s, pass_item, key), keys))
        assert k.result() >= 1
    assert all(r.status in (201, 409, 502, 503) for r in first), first
    done, end = {}, time.time() + 60
    while len(done) < len(keys) and time.time() < end:
        for key in keys:
            if key not in done:
                r = buy(s, pass_item, key)
                if r.status == 201:
                    done[key] = r.json()["id"]
        time.sleep(0.2)
    assert len(done) == len(keys)
    assert len(set(done.values())) == len(keys)
    assert tuple(charges(s["msisdn"])) == (len(keys), len(keys) * PRICE)
    assert account(s["msisdn"])["balance"] == (1000 - len(keys)) * PRICE
    assert_audit()


def outbox_types(user):
    return [r[0] for r in db_query(
        "SELECT type FROM outbox WHERE user_id = %s ORDER BY id", (user,))]


def test_cap_warning_once_when_80_percent_is_crossed(subscriber, pass_item):
    """A daily cap of 10 prices: the purchase that takes spending from 70%
    to 80% queues exactly one account.cap_warning in its transaction
    (catches a warning on every purchase, or none)."""
    s = subscriber(balance=100 * PRICE, caps={"daily": 10 * PRICE})
    for i in range(9):
        assert buy(s, pass_item).status == 201
        warned = outbox_types(s["user"]).count("account.cap_warning")
        assert warned == (1 if i >= 7 else 0), (i, warned)
    (payload,) = db_query("SELECT payload FROM outbox WHERE user_id = %s AND"
                          " type = 'account.cap_warning'", (s["user"],))[0]
    assert '"period":"daily"' in payload and '"spent":800' in payload


def test_low_balance_warning_when_threshold_crossed(subscriber, pass_item):
    """Prepaid balance falling under [billing] low_balance_minor (500 fen)
    queues one account.low_balance; later purchases below it do not."""
    s = subscriber(balance=700)
    for _ in range(4):
        assert buy(s, pass_item).status == 201        # 600, 500, 400, 300
    assert outbox_types(s["user"]).count("account.low_balance") == 1
