-- 031_gram_repair: the search postings of items written while 012, 021 or
-- 027 swapped the item_grams triggers (issue 15; docs/store.md "Search").
-- Those files replace a trigger with DROP TRIGGER then CREATE TRIGGER: two
-- statements, so an INSERT or a search_text UPDATE of an item committed
-- between them (a feed import, an admin edit, an old build still serving
-- during `vasctl migrate`) ran without its insert trigger. The update's
-- delete trigger still ran, so such an item has no 1- or 2-character
-- postings at all (027's trigram backfill ran last and may have given it
-- its 3-character ones): a search for its words does not find it.
--
-- Every gram of a title is derived from search_text alone, and every item
-- whose text has a character other than a space has the 1-gram of its
-- first character (search_text is trimmed): one primary-key probe of
-- item_grams per item finds the items that missed their grams, and they
-- get all of them again (INSERT IGNORE keeps what exists; the sort keys
-- come from the item, as the triggers write them). Where no item was
-- written in a window this inserts nothing. Items first (STRAIGHT_JOIN):
-- one scan of items and a probe each ("Not exists"), then grams only for
-- the items that missed theirs: 4.6 s at 1,000,000 bench items
-- (Handler_read_key 1,000,041, Handler_read_rnd_next 1,000,043).
--
-- Later trigger changes use CREATE OR REPLACE TRIGGER (MariaDB >= 10.1.4):
-- one statement under the table's metadata lock, no window. Re-runnable;
-- depends on 012, 021, 027.

INSERT IGNORE INTO item_grams (gram, item_id, popularity, price)
SELECT STRAIGHT_JOIN SUBSTRING(i.search_text, s.seq, n.seq), i.id,
       i.popularity, i.price
FROM items i
LEFT JOIN item_grams g
       ON g.gram = LEFT(i.search_text, 1) COLLATE utf8mb4_bin
      AND g.item_id = i.id
JOIN seq_1_to_512 s ON s.seq <= CHAR_LENGTH(i.search_text)
JOIN seq_1_to_3 n
WHERE g.item_id IS NULL
  AND CHAR_LENGTH(i.search_text) > 0
  AND s.seq + n.seq - 1 <= CHAR_LENGTH(i.search_text)
  AND LOCATE(' ', SUBSTRING(i.search_text, s.seq, n.seq)) = 0;
