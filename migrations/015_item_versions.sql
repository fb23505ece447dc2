-- 015_item_versions: a version per item, so a worker can cache each item's
-- rendered JSON and know when it is stale (issue 15; catalog/cat_frag.c,
-- docs/store.md "Cache"). A list page is then one index-range query for the
-- page's (id, version) pairs, and only items whose version moved are read.
-- Re-runnable; depends on 003 (items, item_assets) and 012.

-- Instant in MariaDB (a new last column with a default: no table rebuild).
ALTER TABLE items
    ADD COLUMN IF NOT EXISTS version BIGINT UNSIGNED NOT NULL DEFAULT 0;

-- Every UPDATE of an item moves its version, whoever writes (admin API,
-- feed import, the janitor's popularity refresh, SQL by hand).
DROP TRIGGER IF EXISTS items_version_upd;
CREATE TRIGGER items_version_upd BEFORE UPDATE ON items FOR EACH ROW
    SET NEW.version = OLD.version + 1;

-- Assets, providers and categories are read with the item but changed only
-- by the feed import and the admin API, which bump catalog_meta.generation in
-- the same transaction: cached fragments are keyed by (id, version,
-- generation). (Triggers on item_assets that update items would break
-- INSERT ... SELECT FROM items into item_assets: error 1442.)
