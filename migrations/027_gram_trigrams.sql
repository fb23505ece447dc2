-- 027_gram_trigrams: 3-character grams in the search index (issue 15;
-- catalog/cat_search.c, docs/store.md "Search"). With 1- and 2-character
-- grams only, a word with no match whose bigrams are all common ("loon":
-- "lo", "oo", "on" in 20,000-40,000 items each of 1,000,000) read the
-- postings of its rarest bigram to the end. A term of three or more
-- characters now looks up its trigrams: "loo" is in no item, so the walk
-- reads nothing. A trigram's postings are a subset of each of its bigrams'.
-- Re-runnable; depends on 012 and 021 (item_grams and its triggers).

-- VARCHAR(2) -> VARCHAR(3) keeps one length byte (utf8mb4: 8 -> 12 bytes):
-- an instant change, no rebuild of the postings.
ALTER TABLE item_grams MODIFY gram VARCHAR(3) NOT NULL;

-- 021's insert triggers, with the third width (seq_1_to_3).
DROP TRIGGER IF EXISTS items_grams_ins;
CREATE TRIGGER items_grams_ins AFTER INSERT ON items FOR EACH ROW
    INSERT IGNORE INTO item_grams (gram, item_id, popularity, price)
    SELECT SUBSTRING(NEW.search_text, s.seq, n.seq), NEW.id, NEW.popularity,
           NEW.price
    FROM seq_1_to_512 s JOIN seq_1_to_3 n
    WHERE s.seq + n.seq - 1 <= CHAR_LENGTH(NEW.search_text)
      AND LOCATE(' ', SUBSTRING(NEW.search_text, s.seq, n.seq)) = 0;

DROP TRIGGER IF EXISTS items_grams_upd_ins;
CREATE TRIGGER items_grams_upd_ins AFTER UPDATE ON items FOR EACH ROW
    FOLLOWS items_grams_upd_del
    INSERT IGNORE INTO item_grams (gram, item_id, popularity, price)
    SELECT SUBSTRING(NEW.search_text, s.seq, n.seq), NEW.id, NEW.popularity,
           NEW.price
    FROM seq_1_to_512 s JOIN seq_1_to_3 n
    WHERE NEW.search_text <> OLD.search_text
      AND s.seq + n.seq - 1 <= CHAR_LENGTH(NEW.search_text)
      AND LOCATE(' ', SUBSTRING(NEW.search_text, s.seq, n.seq)) = 0;

-- The trigrams of the items that exist, in primary-key order (about a third
-- more postings; at 1,000,000 bench items ~5,000,000 rows).
INSERT IGNORE INTO item_grams (gram, item_id, popularity, price)
SELECT SUBSTRING(i.search_text, s.seq, 3) AS g, i.id, i.popularity, i.price
FROM items i JOIN seq_1_to_512 s ON s.seq + 2 <= CHAR_LENGTH(i.search_text)
WHERE LOCATE(' ', SUBSTRING(i.search_text, s.seq, 3)) = 0
ORDER BY g, i.id;
