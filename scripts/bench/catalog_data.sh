#!/usr/bin/env bash
# Bench data at carrier scale (issue 15), generated set-based in SQL (INSERT … SELECT over
# MariaDB's SEQUENCE engine, never row by row) into the stack whose stack.env is loaded:
#
#   scripts/bench/catalog_data.sh ITEMS [ENTITLEMENTS]
#
# ITEMS items of provider "scale" in 12 categories (scale-rt-0..9 ringtones, scale-gm-0..1 games:
# ~8% of the items each), one midi asset each, skewed popularity, prices 100..999. Titles: one of
# 100 two-character Chinese words (each in ~1% of the items; "琵琶" is the first), two characters
# drawn from the CJK block, and one of 50 Latin words. ENTITLEMENTS (default 0) permanent entitlements of the IM user
# "bench-heavy" (the library's deep pages: permanent, or passes for games) over the first items;
# bench-heavy is made a subscriber with a prepaid account (no balance) so it may read its library.
# Re-running with the same numbers does nothing; a larger ITEMS adds the missing ones.
#
# The search index (item_grams, migrations 012/021) is filled set-based too. Per row, the insert
# trigger items_grams_ins runs a 1,024-row SEQUENCE join and item_grams' four B-trees take ~16
# random inserts each (1,000,000 items took ~52 minutes). So the load: drops the trigger and
# item_grams' secondary keys, inserts the items, creates the trigger again exactly as it was
# (its statement, sql_mode and character set, read from information_schema), writes the grams of
# every item inserted meanwhile (ids above the largest id before the load, whoever inserted them)
# in one INSERT IGNORE ... SELECT in primary-key order, by the trigger's own rule (every 1-, 2- and
# 3-character substring without a blank, with the item's popularity and price), then adds the
# keys back as they were (one sorted build each). Same rows as the trigger writes
# (tests/integration/test_catalog_scale.py compares them). The exit trap puts back a trigger or
# key that is missing if the script dies half-way. For bench and test stacks only: nothing else
# may write or search items while a load runs.
set -euo pipefail
ITEMS=${1:?usage: catalog_data.sh ITEMS [ENTITLEMENTS]}
ENTS=${2:-0}
: "${VAS_MYSQL_SOCKET:?load the stack environment (run/NAME/stack.env) first}"

sql() {
    mariadb --no-defaults --socket="$VAS_MYSQL_SOCKET" --user="$VAS_MYSQL_USER" \
        --password="$VAS_MYSQL_PASSWORD" --batch --skip-column-names "$VAS_MYSQL_DATABASE" "$@"
}

CJK="'琵琶','乐玉','二胡','云光','云夏','云明','光明','兰乐','兰浪','兰蝴','冬珠','南明','南浪','古歌',
'城想','声山','声海','声金','夏月','夜春','天森','子琶','子茉','小云','彩凤','彩莉','彩蝶','想明','日凤',
'日城','日菊','明蝴','明阳','昏夏','春兰','春南','春声','晨森','晨花','曦茉','月桥','月空','月蝶','林琵',
'桥二','梅想','森夜','森海','歌乐','水古','水歌','水虹','江梅','江菊','河春','河龙','浪水','珠彩','珠海',
'琵冬','白白','白笛','白胡','秋海','秋鸟','竹乡','笛日','筝桥','红青','红龙','花乐','花乡','花月','花胡',
'茉金','莉月','莉梦','菊江','虹梦','蝴南','蝴海','蝴黄','蝴鼓','蝶河','金故','金流','长虹','阳乐','雨曦',
'雨黄','雪莉','雪金','青歌','飞晨','飞歌','鸟云','鸟花','黄云','黄夏','鼓子'"
LATIN="'love','night','dance','rain','summer','blue','dream','river','moon','star','song','heart',
'fire','snow','wind','ocean','gold','silver','spring','autumn','winter','light','shadow','city',
'road','home','sky','cloud','flower','garden','storm','wave','bell','drum','flute','violin',
'piano','guitar','echo','melody','rhythm','harmony','sunrise','sunset','forest','mountain',
'valley','island','bridge','tower'"

# bench-heavy is a subscriber with a prepaid account when it gets entitlements (the library
# answers 403 to an IM user bound to no phone account).
HEAVY=
if ((ENTS > 0)); then
    HEAVY="INSERT IGNORE INTO subscribers (im_user_id, msisdn, created_at, created_by)
VALUES ('bench-heavy', '8613999999999', UTC_TIMESTAMP(3), 'bench-catalog');
INSERT IGNORE INTO accounts (kind, owner_id, bucket, currency, plan, created_at, updated_at)
SELECT 'subscriber', id, 0, 'CNY', 'prepaid', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
FROM subscribers WHERE im_user_id = 'bench-heavy';
UPDATE subscribers s JOIN accounts a ON a.kind = 'subscriber' AND a.owner_id = s.id
SET s.account_id = a.id WHERE s.im_user_id = 'bench-heavy';"
fi

# The insert trigger as it is now: its statement, and the session it was created in.
trigger_sql() {
    sql --raw -e "SELECT CONCAT('SET SESSION sql_mode = ''', SQL_MODE, ''';',
        'SET NAMES ', CHARACTER_SET_CLIENT, ' COLLATE ', COLLATION_CONNECTION, ';',
        'CREATE TRIGGER items_grams_ins ', ACTION_TIMING, ' ', EVENT_MANIPULATION,
        ' ON items FOR EACH ROW ', ACTION_STATEMENT, ';')
        FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
        AND TRIGGER_NAME = 'items_grams_ins'"
}
# item_grams' secondary keys as they are now: "DROP KEY a, ..." or "ADD KEY IF NOT EXISTS a (c, ...), ...".
keys_sql() {
    sql -e "SELECT GROUP_CONCAT(k SEPARATOR ', ') FROM (SELECT IF('$1' = 'drop',
        CONCAT('DROP KEY ', INDEX_NAME), CONCAT('ADD ', IF(NON_UNIQUE, '', 'UNIQUE '),
        'KEY IF NOT EXISTS ', INDEX_NAME, ' (', GROUP_CONCAT(COLUMN_NAME, IFNULL(CONCAT('(',
        SUB_PART, ')'), '') ORDER BY SEQ_IN_INDEX SEPARATOR ', '), ')')) AS k
        FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
        AND TABLE_NAME = 'item_grams' AND INDEX_NAME <> 'PRIMARY'
        GROUP BY INDEX_NAME, NON_UNIQUE) t"
}
TRIGGER=$(trigger_sql)
DROP_KEYS=$(keys_sql drop)
ADD_KEYS=$(keys_sql add)
[[ -n $TRIGGER && $DROP_KEYS != NULL ]] ||
    { echo "catalog_data: no trigger items_grams_ins or keys of item_grams (migrations?)" >&2; exit 1; }
restore() {
    [[ -n $(trigger_sql) ]] || sql <<<"$TRIGGER"
    [[ $(keys_sql drop) == "$DROP_KEYS" ]] || sql -e "ALTER TABLE item_grams $ADD_KEYS"
}
trap restore EXIT

t0=$(date +%s)
sql <<SQL
INSERT IGNORE INTO providers (code, name, revenue_share_bp, created_at, updated_at)
VALUES ('scale', 'Scale Records', 7000, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3));
INSERT IGNORE INTO categories (slug, name, kind, created_at)
SELECT CONCAT('scale-', IF(seq < 10, 'rt-', 'gm-'), IF(seq < 10, seq, seq - 10)),
       CONCAT('Scale ', seq), IF(seq < 10, 'ringtone', 'game'), UTC_TIMESTAMP(3)
FROM seq_0_to_11;
SET @have = (SELECT COUNT(*) FROM items i JOIN providers p ON p.id = i.provider_id
             WHERE p.code = 'scale');
SET @prov = (SELECT id FROM providers WHERE code = 'scale');
-- Its revenue accounts, as bill_provider_accounts_ensure makes them for a feed's provider
-- (BILL_BUCKETS = 16): a purchase of a generated item must find them.
INSERT IGNORE INTO accounts (kind, owner_id, bucket, currency, created_at, updated_at)
SELECT 'provider', @prov, seq, 'CNY', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) FROM seq_0_to_15;
SET @before = (SELECT COALESCE(MAX(id), 0) FROM items);
DROP TRIGGER items_grams_ins;
ALTER TABLE item_grams $DROP_KEYS;
INSERT INTO items (provider_id, sku, kind, title, artist, category_id, price, currency,
                   status, search_text, popularity, min_players, max_players, pricing,
                   pass_days, created_at, updated_at)
SELECT @prov, CONCAT('SC-', s.seq), c.kind, s.title, NULL, c.id, 100 + (s.seq * 37) % 900,
       'CNY', 'active', s.title,
       -- skewed: most items have few purchases, a few have many
       FLOOR(POW(((s.seq * 7919) % 10007) / 10007, 4) * 100000),
       IF(c.kind = 'game', 1, NULL), IF(c.kind = 'game', 4, NULL),
       IF(c.kind = 'game', 'pass', NULL), IF(c.kind = 'game', 7, NULL),
       UTC_TIMESTAMP(3) - INTERVAL ($ITEMS - s.seq) SECOND, UTC_TIMESTAMP(3)
FROM (SELECT seq, (seq * 5) % 12 AS cat,
             CONCAT(ELT(1 + seq % 100, $CJK),
                    CONVERT(CHAR(19968 + (seq * 7919) % 20902 USING ucs2) USING utf8mb4),
                    CONVERT(CHAR(19968 + (seq * 104729) % 20902 USING ucs2) USING utf8mb4),
                    ' ', ELT(1 + (seq DIV 100) % 50, $LATIN)) AS title
      FROM seq_1_to_$ITEMS) s
JOIN categories c ON c.slug = CONCAT('scale-', IF(s.cat < 10, 'rt-', 'gm-'),
                                      IF(s.cat < 10, s.cat, s.cat - 10))
WHERE s.seq > @have;
SET @after = (SELECT COALESCE(MAX(id), 0) FROM items);
SET @mode = @@SESSION.sql_mode, @cs = @@SESSION.character_set_client,
    @rs = @@SESSION.character_set_results, @coll = @@SESSION.collation_connection;
$TRIGGER
SET SESSION sql_mode = @mode, SESSION character_set_client = @cs,
    SESSION character_set_results = @rs, SESSION collation_connection = @coll;
-- What items_grams_ins would have written for each item inserted above, in one statement
-- (search_text is at most 512 characters: the trigger's seq_1_to_512), in primary-key order.
INSERT IGNORE INTO item_grams (gram, item_id, popularity, price)
SELECT SUBSTRING(i.search_text, s.seq, n.seq) AS g, i.id, i.popularity, i.price
FROM items i JOIN seq_1_to_512 s ON s.seq <= CHAR_LENGTH(i.search_text) JOIN seq_1_to_3 n
WHERE i.id > @before AND i.id <= @after
  AND s.seq + n.seq - 1 <= CHAR_LENGTH(i.search_text)
  AND LOCATE(' ', SUBSTRING(i.search_text, s.seq, n.seq)) = 0
ORDER BY g, i.id;
ALTER TABLE item_grams $ADD_KEYS;
INSERT IGNORE INTO item_assets (item_id, format, path, mime, bytes, sha256)
SELECT i.id, 'midi', CONCAT('scale/', i.id, '.mid'), 'audio/midi', 1000 + i.id % 5000,
       REPEAT('0', 64)
FROM items i WHERE i.provider_id = @prov;
$HEAVY
INSERT IGNORE INTO entitlements (owner_user_id, item_id, kind, status, granted_at,
                                 expires_at, updated_at)
SELECT 'bench-heavy', i.id, IF(i.kind = 'game', 'pass', 'permanent'), 'active',
       UTC_TIMESTAMP(3), IF(i.kind = 'game', UTC_TIMESTAMP(3) + INTERVAL 365 DAY, NULL),
       UTC_TIMESTAMP(3)
FROM items i WHERE i.provider_id = @prov
ORDER BY i.id LIMIT $ENTS;
UPDATE catalog_meta SET generation = generation + 1, updated_at = UTC_TIMESTAMP(3)
WHERE id = 1;
-- A bulk load ends with fresh statistics (InnoDB would recalculate them in the background).
ANALYZE TABLE items, item_grams, item_assets, entitlements;
SQL
echo "catalog_data: $(sql -e "SELECT COUNT(*) FROM items i JOIN providers p
    ON p.id = i.provider_id WHERE p.code = 'scale'") scale items,
    $(sql -e "SELECT COUNT(*) FROM entitlements WHERE owner_user_id = 'bench-heavy'") entitlements
    of bench-heavy ($(($(date +%s) - t0)) s)" | tr -s ' \n' ' '
echo
