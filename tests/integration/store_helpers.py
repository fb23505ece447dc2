"""Helpers for the catalog/store tests: a private provider + category made
with a small feed (so tests never depend on the demo catalog's contents)."""
import hashlib
import json
import os
import secrets
import tempfile
from pathlib import Path

from conftest import ENV, db_query, vasctl

CONTENT = Path(ENV.get("VAS_CONTENT_DIR", "run/test/content"))


def midi_bytes(n=200):
    return b"MThd" + secrets.token_bytes(n)


def write_file(rel, data):
    p = CONTENT / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return {"path": rel, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


def make_feed(n_items=3, price=100, games=(), tag=None):
    tag = tag or secrets.token_hex(4)
    cat = f"t-{tag}"
    items = []
    for i in range(n_items):
        sku = f"T{tag.upper()}-{i:03d}"
        f = write_file(f"t-{tag}/{sku}.mid", midi_bytes(100 + i))
        items.append({"sku": sku, "kind": "ringtone",
                      "title": f"测试铃声 Test Tone {tag} {i}",
                      "artist": "Tester", "category": cat,
                      "price": price + i, "currency": "CNY",
                      "assets": [dict(format="midi", **f)]})
    cats = [{"slug": cat, "name": "测试 Test", "kind": "ringtone"}]
    if games:
        cats.append({"slug": cat + "-g", "name": "游戏", "kind": "game"})
    for j, (pricing, days) in enumerate(games):
        items.append({"sku": f"G{tag.upper()}-{j}", "kind": "game",
                      "title": f"Game {tag} {j}", "artist": None,
                      "category": cat + "-g", "price": price,
                      "currency": "CNY", "min_players": 1, "max_players": 4,
                      "pricing": pricing, "pass_days": days,
                      "allocator_url": "http://127.0.0.1:18099/allocate"})
    return {"feed_version": 1,
            "provider": {"code": f"p-{tag}", "name": f"Provider {tag}",
                         "revenue_share_bp": 7000, "webhook_url": None},
            "categories": cats, "items": items}, tag


def import_feed(feed, check=True):
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        f.write(feed if isinstance(feed, str) else json.dumps(feed, indent=1))
    try:
        return vasctl("catalog", "import", path, check=check)
    finally:
        os.unlink(path)


def feed_items(n_items, price):
    """A private provider with n_items ringtones at price (make_feed +
    import_feed): their item ids in id order, and the provider's id."""
    feed, tag = make_feed(n_items, price=price)
    import_feed(feed)
    rows = db_query("SELECT i.id, p.id FROM items i JOIN providers p ON"
                    " p.id = i.provider_id WHERE p.code = %s ORDER BY i.id",
                    (f"p-{tag}",))
    return [r[0] for r in rows], rows[0][1]
