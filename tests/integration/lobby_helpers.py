"""Helpers for test_lobby*.py (no tests here): a private game catalog whose
per-play games point at an in-process fake allocator, users with tokens,
Redis key counting and the lobby calls."""
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
from pathlib import Path

from conftest import ENV, ROOT, db_query, http, new_msisdn, new_user
from gw_helpers import make_jwt, user_claims
from store_helpers import import_feed
from test_notify_helpers import Redis

sys.path.insert(0, str(ROOT / "tests/fakes"))
from fake_allocator import FakeAllocator  # noqa: E402

PRICE = 300


def token(user):
    return make_jwt(user_claims(user))


def game_feed(allocator_url, tag=None):
    """A provider with: a per-play game (2..4 players), a per-play game for
    up to 8, a pass game, a free per-play game and a ringtone."""
    tag = tag or secrets.token_hex(4)
    cat = f"lg-{tag}"

    def game(i, pricing, price, lo, hi, days=None):
        return {"sku": f"LG{tag.upper()}-{i}", "kind": "game",
                "title": f"斗地主 Landlord {tag} {i}", "artist": None,
                "category": cat, "price": price, "currency": "CNY",
                "min_players": lo, "max_players": hi, "pricing": pricing,
                "pass_days": days, "allocator_url": allocator_url}

    items = [game(0, "per_play", PRICE, 2, 4), game(1, "per_play", PRICE, 2, 8),
             game(2, "pass", 1000, 2, 4, 30), game(3, "per_play", 0, 2, 4)]
    data = b"MThd" + secrets.token_bytes(64)
    rel = f"lg-{tag}/tone.mid"
    p = Path(ENV.get("VAS_CONTENT_DIR", "run/test/content")) / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    items.append({"sku": f"LT{tag.upper()}", "kind": "ringtone",
                  "title": f"Tone {tag}", "artist": "T", "category": cat + "-r",
                  "price": 100, "currency": "CNY",
                  "assets": [{"format": "midi", "path": rel, "bytes": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()}]})
    return {"feed_version": 1,
            "provider": {"code": f"lp-{tag}", "name": f"Games {tag}",
                         "revenue_share_bp": 7000, "webhook_url": None},
            "categories": [{"slug": cat, "name": "棋牌", "kind": "game"},
                           {"slug": cat + "-r", "name": "铃声",
                            "kind": "ringtone"}],
            "items": items}, tag


class Catalog:
    def __init__(self, allocator):
        feed, tag = game_feed(allocator.url)
        import_feed(feed)
        rows = db_query("SELECT i.sku, i.id FROM items i JOIN providers p ON"
                        " p.id = i.provider_id WHERE p.code = %s",
                        (f"lp-{tag}",))
        ids = dict(rows)
        self.game = ids[f"LG{tag.upper()}-0"]
        self.game8 = ids[f"LG{tag.upper()}-1"]
        self.pass_game = ids[f"LG{tag.upper()}-2"]
        self.free_game = ids[f"LG{tag.upper()}-3"]
        self.ringtone = ids[f"LT{tag.upper()}"]


class User:
    """An IM user, optionally bound to a phone account with a balance."""

    def __init__(self, admin_key=None, balance=None, plan="prepaid"):
        self.user = new_user()
        self.token = token(self.user)
        self.msisdn = None
        if admin_key is not None:
            self.msisdn = new_msisdn()
            r = http("POST", "/v1/admin/subscribers",
                     {"im_user_id": self.user, "msisdn": self.msisdn,
                      "plan": plan}, token=admin_key)
            assert r.status == 201, r
            if balance:
                r = http("POST", f"/v1/admin/subscribers/{self.msisdn}/topups",
                         {"amount": balance, "reference": "seed"},
                         token=admin_key,
                         headers={"Idempotency-Key": secrets.token_hex(8)})
                assert r.status == 201, r

    def call(self, method, path, body=None, **kw):
        return http(method, path, body, token=self.token, **kw)

    def me(self):
        r = self.call("GET", "/v1/me")
        assert r.status == 200, r
        return r.json()


def create(u, game, **body):
    body["game_id"] = game
    return u.call("POST", "/v1/lobbies", body)


def join(u, lid):
    return u.call("POST", f"/v1/lobbies/{lid}/join")


def leave(u, lid):
    return u.call("POST", f"/v1/lobbies/{lid}/leave")


def ready(u, lid, flag=True):
    return u.call("POST", f"/v1/lobbies/{lid}/ready", {"ready": flag})


def get(u, lid):
    return u.call("GET", f"/v1/lobbies/{lid}")


def start(u, lid, key=None):
    return u.call("POST", f"/v1/lobbies/{lid}/start",
                  headers={"Idempotency-Key": key or secrets.token_hex(8)})


def full_lobby(owner, others, game, all_ready=True):
    """A lobby of owner + others (all ready by default); returns its id."""
    r = create(owner, game)
    assert r.status == 201, r
    lid = r.json()["id"]
    for u in others:
        r = join(u, lid)
        assert r.status == 200, r
    if all_ready:
        for u in [owner] + list(others):
            r = ready(u, lid)
            assert r.status == 200, r
    return lid


def redis_keys(pattern):
    with Redis() as r:
        return r.cmd("KEYS", pattern) or []


def inbox(user):
    with Redis() as r:
        items = r.cmd("ZRANGE", f"vas:inbox:{{{user}}}", 0, -1) or []
    return [json.loads(x) for x in items]


def inbox_types(user):
    return [i["type"] for i in inbox(user)]


def ticket_secret():
    return Path(ENV["VAS_TICKET_SECRET_FILE"]).read_bytes()


def verify_ticket(ticket):
    """What a game server does offline; returns the payload or None."""
    head, _, sig = ticket.partition(".")
    want = hmac.new(ticket_secret(), head.encode(), hashlib.sha256).digest()
    got = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    if not hmac.compare_digest(want, got):
        return None
    p = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return p if p["exp"] > time.time() else None


def account(msisdn):
    row = db_query("SELECT a.balance, a.held FROM accounts a JOIN subscribers s"
                   " ON s.account_id = a.id WHERE s.msisdn = %s", (msisdn,))
    return row[0]
