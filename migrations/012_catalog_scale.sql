-- 012_catalog_scale: catalog reads that cost O(page), CJK search from an
-- index, and a persistent watermark for the janitor's popularity refresh
-- (issue 15; catalog/cat_browse.c, catalog/cat_search.c, docs/store.md).
-- Re-runnable; depends only on 003 (items, purchases).

-- One index per (filter, sort) whose order IS the sort order, so a page is
-- read as `limit` index entries from the cursor on (ix_items_new/price/
-- popular and ix_items_category already exist for no filter and for
-- category + new).
ALTER TABLE items
    ADD KEY IF NOT EXISTS ix_items_kind_new (kind, status, id),
    ADD KEY IF NOT EXISTS ix_items_kind_popular (kind, status, popularity, id),
    ADD KEY IF NOT EXISTS ix_items_kind_price (kind, status, price, id),
    ADD KEY IF NOT EXISTS ix_items_cat_popular (category_id, status, popularity, id),
    ADD KEY IF NOT EXISTS ix_items_cat_price (category_id, status, price, id);

-- Search index: every 1- and 2-character substring of items.search_text
-- that holds no blank (terms never do). A query term's grams select the
-- candidates through the primary key; LIKE '%term%' on the few candidates
-- keeps today's exact matching rules. Characters, not bytes: search_text is
-- utf8mb4_bin, so SUBSTRING counts code points, as cat_search_grams does.
CREATE TABLE IF NOT EXISTS item_grams (
    gram     VARCHAR(2) NOT NULL,
    item_id  BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (gram, item_id),
    KEY ix_item_grams_item (item_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Maintained with the items, in the same transaction as the write that
-- changes search_text, whoever writes (admin API, feed import, SQL loads).
-- seq_1_to_512 is MariaDB's SEQUENCE engine; 512 = CAT_SEARCH_TEXT_MAX.
DROP TRIGGER IF EXISTS items_grams_ins;
CREATE TRIGGER items_grams_ins AFTER INSERT ON items FOR EACH ROW
    INSERT IGNORE INTO item_grams (gram, item_id)
    SELECT SUBSTRING(NEW.search_text, s.seq, n.seq), NEW.id
    FROM seq_1_to_512 s JOIN seq_1_to_2 n
    WHERE s.seq + n.seq - 1 <= CHAR_LENGTH(NEW.search_text)
      AND LOCATE(' ', SUBSTRING(NEW.search_text, s.seq, n.seq)) = 0;

DROP TRIGGER IF EXISTS items_grams_upd_del;
CREATE TRIGGER items_grams_upd_del AFTER UPDATE ON items FOR EACH ROW
    DELETE FROM item_grams
    WHERE item_id = NEW.id AND NEW.search_text <> OLD.search_text;

DROP TRIGGER IF EXISTS items_grams_upd_ins;
CREATE TRIGGER items_grams_upd_ins AFTER UPDATE ON items FOR EACH ROW
    FOLLOWS items_grams_upd_del
    INSERT IGNORE INTO item_grams (gram, item_id)
    SELECT SUBSTRING(NEW.search_text, s.seq, n.seq), NEW.id
    FROM seq_1_to_512 s JOIN seq_1_to_2 n
    WHERE NEW.search_text <> OLD.search_text
      AND s.seq + n.seq - 1 <= CHAR_LENGTH(NEW.search_text)
      AND LOCATE(' ', SUBSTRING(NEW.search_text, s.seq, n.seq)) = 0;

DROP TRIGGER IF EXISTS items_grams_del;
CREATE TRIGGER items_grams_del AFTER DELETE ON items FOR EACH ROW
    DELETE FROM item_grams WHERE item_id = OLD.id;

-- Items that existed before this migration.
INSERT IGNORE INTO item_grams (gram, item_id)
SELECT SUBSTRING(i.search_text, s.seq, n.seq), i.id
FROM items i JOIN seq_1_to_512 s JOIN seq_1_to_2 n
WHERE s.seq + n.seq - 1 <= CHAR_LENGTH(i.search_text)
  AND LOCATE(' ', SUBSTRING(i.search_text, s.seq, n.seq)) = 0;

-- Batch jobs' watermarks: the popularity refresh folds purchases with
-- id > mark into items.popularity, in chunks, advancing the mark in the
-- same transaction as each chunk, so a failure never recounts from zero.
CREATE TABLE IF NOT EXISTS catalog_jobs (
    name        VARCHAR(32) NOT NULL PRIMARY KEY,
    mark        BIGINT UNSIGNED NOT NULL,
    updated_at  DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Start from an exact count up to the mark (before this the janitor kept
-- its mark in memory and recounted everything at each start).
INSERT IGNORE INTO catalog_jobs (name, mark, updated_at)
SELECT 'popularity', COALESCE(MAX(id), 0), UTC_TIMESTAMP(3) FROM purchases;

UPDATE items i LEFT JOIN (SELECT item_id, COUNT(*) n FROM purchases
    WHERE id <= (SELECT mark FROM catalog_jobs WHERE name = 'popularity')
    GROUP BY item_id) p ON p.item_id = i.id
SET i.popularity = COALESCE(p.n, 0)
WHERE i.popularity <> COALESCE(p.n, 0);
