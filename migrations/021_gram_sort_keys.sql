-- 021_gram_sort_keys: search pages in sort order from the gram index (issue
-- 15; catalog/cat_browse.c, docs/store.md "Search"). Each posting of
-- item_grams carries its item's popularity and price, and an index per sort
-- (id order is the primary key's), so a search page walks one gram's
-- postings from the cursor in the page's order and stops after the page,
-- instead of reading every match of its rarest gram and sorting them.
-- Re-runnable; depends on 012 (item_grams and its triggers).

ALTER TABLE item_grams
    ADD COLUMN IF NOT EXISTS popularity BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS price BIGINT NOT NULL DEFAULT 0,
    ADD KEY IF NOT EXISTS ix_item_grams_popular (gram, popularity, item_id),
    ADD KEY IF NOT EXISTS ix_item_grams_price (gram, price, item_id);

UPDATE item_grams g JOIN items i ON i.id = g.item_id
SET g.popularity = i.popularity, g.price = i.price
WHERE g.popularity <> i.popularity OR g.price <> i.price;

-- 012's triggers, now with the sort keys.
DROP TRIGGER IF EXISTS items_grams_ins;
CREATE TRIGGER items_grams_ins AFTER INSERT ON items FOR EACH ROW
    INSERT IGNORE INTO item_grams (gram, item_id, popularity, price)
    SELECT SUBSTRING(NEW.search_text, s.seq, n.seq), NEW.id, NEW.popularity,
           NEW.price
    FROM seq_1_to_512 s JOIN seq_1_to_2 n
    WHERE s.seq + n.seq - 1 <= CHAR_LENGTH(NEW.search_text)
      AND LOCATE(' ', SUBSTRING(NEW.search_text, s.seq, n.seq)) = 0;

DROP TRIGGER IF EXISTS items_grams_upd_ins;
CREATE TRIGGER items_grams_upd_ins AFTER UPDATE ON items FOR EACH ROW
    FOLLOWS items_grams_upd_del
    INSERT IGNORE INTO item_grams (gram, item_id, popularity, price)
    SELECT SUBSTRING(NEW.search_text, s.seq, n.seq), NEW.id, NEW.popularity,
           NEW.price
    FROM seq_1_to_512 s JOIN seq_1_to_2 n
    WHERE NEW.search_text <> OLD.search_text
      AND s.seq + n.seq - 1 <= CHAR_LENGTH(NEW.search_text)
      AND LOCATE(' ', SUBSTRING(NEW.search_text, s.seq, n.seq)) = 0;

-- The janitor's popularity refresh and price changes move the postings'
-- keys (about 15 rows per item, by ix_item_grams_item).
DROP TRIGGER IF EXISTS items_grams_upd_keys;
CREATE TRIGGER items_grams_upd_keys AFTER UPDATE ON items FOR EACH ROW
    FOLLOWS items_grams_upd_ins
    UPDATE item_grams SET popularity = NEW.popularity, price = NEW.price
    WHERE item_id = NEW.id
      AND (NEW.popularity <> OLD.popularity OR NEW.price <> OLD.price);
