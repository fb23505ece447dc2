/*
 * cat_browse.c — catalog pages with keyset pagination, categories, charts.
 *
 * Keyset, never OFFSET: every sort is a total order on (key, id) and the
 * cursor carries the last (key, id) seen, so a walk has no duplicates or
 * gaps while items are inserted.
 *
 * O(page), not O(catalog) (issue 15): a page is two steps. The id query
 * picks the page's (id, version, popularity, price) from an index whose
 * order IS the sort order (one per filter and sort, migrations 003 and
 * 012), so it reads `limit + 1` index entries from the cursor on and
 * those rows by primary key, and the catalog generation in the same
 * snapshot. Each item's JSON comes from the host's fragment cache when
 * its (id, version, that generation) is there (cat_frag.h): keyed by the
 * host's polled copy instead, a fragment made before a bump was joined
 * into pages read after it until the next poll (up to CAT_GEN_POLL_MS);
 * the others are read in one details query (the ids as a JSON array
 * through JSON_TABLE, each row by primary key, its assets by their index)
 * and rendered: no sort, no GROUP BY, and the only temporary table is
 * JSON_TABLE's (the ids). Search picks its candidates from item_grams
 * (the rarest gram drives) and checks them with LIKE, so it reads the
 * matches of its rarest gram, never the catalog. Each (filter, sort) has
 * its own static statement: no SQL text is assembled at run time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cat.h"
#include "cat_cache.h"
#include "cat_frag.h"
#include "cat_internal.h"
#include "gw_metrics.h"
#include "gw_status.h"
#include "gw_stmt.h"
#include "gw_util.h"

/* clang-format off */
#define CAT_TERM_SQL "AND (%s IS NULL OR i.search_text LIKE %s) "
#define CAT_KEYSET(col, op)                                                   \
    "(%d = 0 OR " col " " op " %lld OR (" col " = %lld AND i.id " op         \
    " %lld)) "
#define CAT_ORDER_POPULAR "i.popularity DESC, i.id DESC"
#define CAT_ORDER_NEW     "i.id DESC"
#define CAT_ORDER_PASC    "i.price ASC, i.id ASC"
#define CAT_ORDER_PDESC   "i.price DESC, i.id DESC"

/* The packed sort keys (migration 035): key * 2^32 + id, exact for the
 * keys and ids its CHECKs and the id sequence allow. */
#define CAT_SORT_KEY_SCALE 4294967296LL
#define CAT_SORT_KEY_MIN   (-2147483647LL - 1)
#define CAT_SORT_KEY_MAX   2147483647LL
#define CAT_SORT_ID_MAX    4294967295LL

/* What the id query returns per row: the version validates a cached
 * fragment, popularity and price make the cursor; the generation (the
 * same in every row) is the one the page is read at. */
#define CAT_IDS_COLS                                                          \
    "i.id, i.version, i.popularity, i.price, " CAT_GENERATION_COL
#define CAT_IDS_GEN_COL 4

/* The details of the ids (a JSON array) that are not cached: a row per
 * asset (an item without assets: one row of NULLs), no GROUP BY. */
#define CAT_DETAILS_SQL                                                       \
    "SELECT STRAIGHT_JOIN " CAT_ITEM_BASE_COLS ", a.format, a.mime, a.bytes," \
    " a.path, i.version FROM JSON_TABLE(%s, '$[*]' COLUMNS (id BIGINT"        \
    " UNSIGNED PATH '$')) t JOIN items i ON i.id = t.id"                      \
    " JOIN providers p ON p.id = i.provider_id"                               \
    " JOIN categories c ON c.id = i.category_id"                              \
    " LEFT JOIN item_assets a ON a.item_id = i.id"
#define CAT_DETAILS_ASSET_COL   19 /* format, mime, bytes, path */
#define CAT_DETAILS_VERSION_COL 23

/* Id statements per filter, prepared (gw_stmt.h: parsed once per
 * connection; 0.068 -> 0.054 ms of mariadbd CPU per page at 100,000
 * items). MariaDB optimizes a prepared statement again at every
 * execution, so what they cost is mostly their shape:
 * - the generation comes from catalog_meta joined as a const table (its
 *   row by primary key while the statement is optimized, in the
 *   statement's snapshot like the items', as CAT_GENERATION_COL's
 *   subquery was, without the subquery's own prepare and optimize;
 *   migration 003 inserts the row and nothing deletes it);
 * - every keyset is one range: sort=new's key is the id itself
 *   (i.id < cat_new_bound), popularity and price have a packed column
 *   each, key * 2^32 + id (migration 035: sort_popular, sort_price), whose
 *   order is the (key, id) order, so `key < ? OR (key = ? AND id < ?)`
 *   (two ranges for the optimizer to estimate and walk) is
 *   `sort_popular < ?` (cat_packed_bound);
 * - and the keyset is that range alone, inclusive (`sort_popular <= ?`,
 *   `sort_price >= ?`): the first page is the range from the end of the
 *   order (cat_page_range). `(? = 0 OR key < ?)`, one statement for both,
 *   made the optimizer fold the OR at every execution: mariadbd CPU per
 *   uncached page at 100,000 items, two A/B rounds on one bench stack,
 *   list 112, 116 -> 94, 104 us, category 149, 135 -> 115, 122 us.
 * mariadbd instructions per 20-item page from a cursor at 100,000 items
 * (callgrind): popular 309k -> 300k -> 251k (packed key), new 262k ->
 * 243k, category popular 333k -> 280k, category price 342k -> 277k.
 * Parameters: the filter's, then the keyset's bound, then the limit. */
#define CAT_SKEYSET(col, op) col " " op " ? "
#define CAT_BROWSE_COLS "i.id, i.version, i.popularity, i.price, m.generation"
#define CAT_BROWSE_FROM(ix)                                                   \
    "SELECT " CAT_BROWSE_COLS " FROM catalog_meta m"                          \
    " JOIN items i FORCE INDEX (" ix ") WHERE m.id = 1 AND "
#define CAT_IDS_ALL(ix, keyset, order)                                        \
    CAT_BROWSE_FROM(ix) "i.status = 'active' AND " keyset                     \
    "ORDER BY " order " LIMIT ?"
#define CAT_IDS_KIND(ix, keyset, order)                                       \
    CAT_BROWSE_FROM(ix) "i.kind = ? AND i.status = 'active' AND " keyset      \
    "ORDER BY " order " LIMIT ?"
/* The category's id (cat_category_find: no join with categories), so the
 * order of items' (category_id, status, key, id) index is the page's
 * order. */
#define CAT_IDS_CATEGORY(ix, keyset, order)                                   \
    CAT_BROWSE_FROM(ix) "i.category_id = ? AND i.status = 'active' AND "      \
    keyset "ORDER BY " order " LIMIT ?"
/* One row per browse filter, indexed by enum cat_sort within it. */
#define CAT_BROWSE_SORTS(IDS, ix_popular, ix_new, ix_price)                   \
    {IDS(ix_popular, CAT_SKEYSET("i.sort_popular", "<="),                     \
         "i.sort_popular DESC"),                                              \
     IDS(ix_new, CAT_SKEYSET("i.id", "<="), CAT_ORDER_NEW),                   \
     IDS(ix_price, CAT_SKEYSET("i.sort_price", ">="), "i.sort_price ASC"),    \
     IDS(ix_price, CAT_SKEYSET("i.sort_price", "<="), "i.sort_price DESC")}
/* Search: up to four grams, each a primary-key range of item_grams; the
 * optimizer drives from the smallest (a NULL gram is no join at all: its
 * LEFT JOIN matches nothing and its WHERE term is true; a non-NULL one's
 * WHERE term makes the join inner, so it may drive). The sort indexes and
 * the primary key are ignored for ORDER BY so a rare term never walks the
 * catalog in sort order looking for matches. Arguments: grams 2, 3, 4,
 * gram 1, grams 2, 3, 4 again, kind, kind, category, category, five
 * terms (pattern twice each), keyset, limit. */
/* The walk's sort indexes (migration 021) are never a join's or the
 * rarest-gram plan's access path: a gram's postings by primary key. */
#define CAT_GRAM_NOSORT                                                       \
    " IGNORE INDEX (ix_item_grams_popular, ix_item_grams_price)"
#define CAT_GRAM_JOIN(g)                                                      \
    " LEFT JOIN item_grams " g CAT_GRAM_NOSORT " ON " g ".gram = %s AND " g   \
    ".item_id = g1.item_id"
#define CAT_GRAM_WHERE(g) " AND (%s IS NULL OR " g ".item_id IS NOT NULL)"
/* What both search statements join after g1, and their WHERE up to the
 * keyset: the other grams, the item and its category, the filters and the
 * terms' LIKEs. items_hint is the rarest-gram plan's index hint. */
#define CAT_SEARCH_JOINS(items_hint)                                          \
    CAT_GRAM_JOIN("g2") CAT_GRAM_JOIN("g3") CAT_GRAM_JOIN("g4")               \
    " JOIN items i" items_hint " ON i.id = g1.item_id"                        \
    " JOIN categories c ON c.id = i.category_id"                              \
    " WHERE g1.gram = %s"                                                     \
    CAT_GRAM_WHERE("g2") CAT_GRAM_WHERE("g3") CAT_GRAM_WHERE("g4")            \
    " AND i.status = 'active'"                                                \
    " AND (%s IS NULL OR i.kind = %s) AND (%s IS NULL OR c.slug = %s) "       \
    CAT_TERM_SQL CAT_TERM_SQL CAT_TERM_SQL CAT_TERM_SQL CAT_TERM_SQL
#define CAT_IDS_SEARCH(ix, col, op, order)                                    \
    "SELECT " CAT_IDS_COLS " FROM item_grams g1" CAT_GRAM_NOSORT              \
    CAT_SEARCH_JOINS(" IGNORE INDEX FOR ORDER BY (" ix ")")                   \
    "AND " CAT_KEYSET(col, op) "ORDER BY " order " LIMIT %lld"
/* InnoDB's estimate of each gram's postings (two B-tree dives each, no
 * row read), for the grams not in the per-process cache (cat_memo.c):
 * EXPLAIN's row of table gK has gram K's estimate; a NULL gram is an
 * impossible WHERE (no table). Arguments: grams 1 to 8
 * (CAT_SEARCH_CANDIDATES_MAX). */
#define CAT_GRAM_EST(g)                                                       \
    "SELECT 1 FROM item_grams " g CAT_GRAM_NOSORT " WHERE " g ".gram = %s"
#define CAT_GRAMS_EXPLAIN                                                     \
    "EXPLAIN " CAT_GRAM_EST("g1") " UNION ALL " CAT_GRAM_EST("g2")            \
    " UNION ALL " CAT_GRAM_EST("g3") " UNION ALL " CAT_GRAM_EST("g4")         \
    " UNION ALL " CAT_GRAM_EST("g5") " UNION ALL " CAT_GRAM_EST("g6")         \
    " UNION ALL " CAT_GRAM_EST("g7") " UNION ALL " CAT_GRAM_EST("g8")

/* Search in sort order (migration 021): one gram's postings carry the
 * sort keys, so the page walks them from the cursor in the page's order
 * and stops after limit + 1 matches; ROWS EXAMINED bounds the walk when
 * the other terms, kind or category match few of them (then the
 * CAT_IDS_SEARCH statement reads the rarest gram's matches and sorts).
 * Arguments: as CAT_IDS_SEARCH's, then the bound. */
#define CAT_WALK_KEYSET(col, op)                                              \
    "(%d = 0 OR " col " " op " %lld OR (" col " = %lld AND g1.item_id " op    \
    " %lld)) "
#define CAT_IDS_WALK(ix, col, op, order)                                      \
    "SELECT STRAIGHT_JOIN " CAT_IDS_COLS " FROM item_grams g1"                \
    " FORCE INDEX (" ix ")" CAT_SEARCH_JOINS("")                              \
    "AND " CAT_WALK_KEYSET(col, op) "ORDER BY " order                         \
    " LIMIT %lld ROWS EXAMINED %lld"

/* The search statements' row, indexed by enum cat_sort. */
#define CAT_SEARCH_SORTS(IDS, ix_popular, ix_new, ix_price)                   \
    {IDS(ix_popular, "i.popularity", "<", CAT_ORDER_POPULAR),                 \
     IDS(ix_new, "i.id", "<", CAT_ORDER_NEW),                                 \
     IDS(ix_price, "i.price", ">", CAT_ORDER_PASC),                           \
     IDS(ix_price, "i.price", "<", CAT_ORDER_PDESC)}
/* clang-format on */

enum cat_filter {
    CAT_FILTER_ALL,
    CAT_FILTER_KIND,
    CAT_FILTER_CATEGORY,
    CAT_FILTER_SEARCH
};

#define CAT_SEARCH_IX_ORDER                                                    \
    "ix_items_popular, ix_items_new, ix_items_price, ix_items_kind_new,"       \
    " ix_items_kind_popular, ix_items_kind_price, ix_items_category,"          \
    " ix_items_cat_popular, ix_items_cat_price"

static const char *const cat_page_sql[4][4] = {
    CAT_BROWSE_SORTS(CAT_IDS_ALL, "ix_items_popular", "ix_items_new",
                     "ix_items_price"),
    CAT_BROWSE_SORTS(CAT_IDS_KIND, "ix_items_kind_popular", "ix_items_kind_new",
                     "ix_items_kind_price"),
    CAT_BROWSE_SORTS(CAT_IDS_CATEGORY, "ix_items_cat_popular",
                     "ix_items_category", "ix_items_cat_price"),
    CAT_SEARCH_SORTS(CAT_IDS_SEARCH, CAT_SEARCH_IX_ORDER, CAT_SEARCH_IX_ORDER,
                     CAT_SEARCH_IX_ORDER),
};

static const char *const cat_walk_sql[4] = {
    CAT_IDS_WALK("ix_item_grams_popular", "g1.popularity", "<",
                 "g1.popularity DESC, g1.item_id DESC"),
    CAT_IDS_WALK("PRIMARY", "g1.item_id", "<", "g1.item_id DESC"),
    CAT_IDS_WALK("ix_item_grams_price", "g1.price", ">",
                 "g1.price ASC, g1.item_id ASC"),
    CAT_IDS_WALK("ix_item_grams_price", "g1.price", "<",
                 "g1.price DESC, g1.item_id DESC"),
};

static const char *const cat_sort_names[] = {"popular", "new", "price_asc",
                                             "price_desc"};

int
cat_sort_parse(const char *s, enum cat_sort *out)
{
    size_t i;

    if (s == NULL) {
        *out = CAT_SORT_POPULAR;
        return 0;
    }
    for (i = 0; i < sizeof(cat_sort_names) / sizeof(cat_sort_names[0]); i++) {
        if (strcmp(s, cat_sort_names[i]) == 0) {
            *out = (enum cat_sort) i;
            return 0;
        }
    }
    return -1;
}

int
cat_cursor_encode(enum cat_sort sort, int64_t key, int64_t id, char *out,
                  size_t cap)
{
    char   raw[8 + 2 * GW_I64_TEXT_MAX];
    size_t n = 5;

    /* "v1.<sort>.<key>.<id>" without printf: a page's last step. */
    memcpy(raw, "v1.0.", 5);
    raw[3] = (char) ('0' + (int) sort);
    n += gw_i64_text(raw + n, key);
    raw[n++] = '.';
    n += gw_i64_text(raw + n, id);
    if (GW_B64URL_LEN(n) + 1 > cap) {
        return -1;
    }
    gw_b64url_encode((const unsigned char *) raw, n, out);
    return 0;
}

int
cat_cursor_decode(const char *s, enum cat_sort sort, int64_t *key, int64_t *id)
{
    unsigned char raw[96];
    char          txt[97], *p, *q;
    long          n;
    size_t        len = strlen(s);

    if (len == 0 || len > CAT_CURSOR_MAX) {
        return -1;
    }
    n = gw_b64url_decode(s, len, raw, sizeof(raw) - 1);
    if (n < 5) {
        return -1;
    }
    memcpy(txt, raw, (size_t) n);
    txt[n] = '\0';
    if (strncmp(txt, "v1.", 3) != 0 || txt[3] != '0' + (int) sort
        || txt[4] != '.') {
        return -1;
    }
    p = txt + 5;
    q = strchr(p, '.');
    if (q == NULL || gw_parse_i64(p, (size_t) (q - p), key) != 0
        || gw_parse_i64(q + 1, strlen(q + 1), id) != 0 || *id < 0) {
        return -1;
    }
    return 0;
}

/* The sort key of an id-query row (id, version, popularity, price). */
static int64_t
cat_sort_key(enum cat_sort sort, const int64_t *row)
{
    switch (sort) {
    case CAT_SORT_POPULAR:
        return row[2];
    case CAT_SORT_NEW:
        return row[0];
    default:
        return row[3];
    }
}

/* Splits the normalised q into up to CAT_QUERY_TERMS_MAX LIKE patterns. */
static int
cat_search_terms(struct gw_arena *a, const char *q,
                 const char *pat[CAT_QUERY_TERMS_MAX], char *norm, size_t cap)
{
    const char *p = norm, *sp;
    size_t      len;
    int         n = 0;

    memset(pat, 0, sizeof(*pat) * CAT_QUERY_TERMS_MAX);
    if (q == NULL) {
        return 0;
    }
    if (cat_search_normalize(q, norm, cap) < 0) {
        return -1;
    }
    while (*p != '\0' && n < CAT_QUERY_TERMS_MAX) {
        sp = strchr(p, ' ');
        len = sp ? (size_t) (sp - p) : strlen(p);
        if (len > 0) {
            char *like = gw_arena_alloc(a, 2 * len + 3);
            if (like == NULL) {
                return -1;
            }
            cat_search_like(p, len, like);
            pat[n++] = like;
        }
        p += len + (sp != NULL);
    }
    return 0;
}

/*
 * Whether a search's first gram is dense in its matches, so its postings
 * can be walked in sort order at once: a lone gram (the term is its gram),
 * or one word of CJK characters, whose bigrams occur together. Otherwise
 * (Latin bigrams: "lo" of "love" is in many more items than the word;
 * several words, independent of each other) the optimizer picks the gram.
 */
static int
cat_search_dense(const char *t[CAT_QUERY_TERMS_MAX], const char *norm,
                 size_t ngrams)
{
    const unsigned char *p = (const unsigned char *) norm;

    if (ngrams == 1) {
        return 1;
    }
    if (t[0] == NULL || t[1] != NULL) {
        return 0;
    }
    for (; *p != '\0'; p++) {
        if (*p < 0x80) {
            return 0;
        }
    }
    return 1;
}

/*
 * The estimated postings of the grams g[0..n) into est: from the
 * per-process cache, the others in one EXPLAIN (and cached). A gram
 * without an estimate keeps INT64_MAX (it is never preferred).
 */
static int
cat_search_estimates(struct gw_db *db, struct gw_arena *a,
                     const char *g[CAT_SEARCH_CANDIDATES_MAX], size_t n,
                     int64_t est[CAT_SEARCH_CANDIDATES_MAX])
{
    const char *need[CAT_SEARCH_CANDIDATES_MAX] = {NULL};
    MYSQL_RES  *res;
    MYSQL_ROW   row;
    size_t      k, missing = 0;
    int         rc;

    for (k = 0; k < n; k++) {
        est[k] = INT64_MAX;
        if (!cat_gramstat_get(g[k], &est[k])) {
            need[k] = g[k];
            missing++;
        }
    }
    if (missing == 0) {
        return GW_OK;
    }
    rc = gw_db_query(db, a, &res, CAT_GRAMS_EXPLAIN, need[0], need[1], need[2],
                     need[3], need[4], need[5], need[6], need[7]);
    if (rc != GW_OK) {
        return rc;
    }
    /* id, select_type, table, type, possible_keys, key, key_len, ref, rows */
    while (mysql_num_fields(res) >= 9 && (row = mysql_fetch_row(res)) != NULL) {
        if (row[2] == NULL || row[2][0] != 'g' || row[2][1] < '1'
            || row[2][1] > '8' || row[2][2] != '\0' || row[8] == NULL) {
            continue;
        }
        k = (size_t) (row[2][1] - '1');
        if (k < n && need[k] != NULL) {
            est[k] = gw_db_col_i64(row, 8);
            cat_gramstat_put(g[k], est[k]);
        }
    }
    return GW_OK;
}

/*
 * Orders the candidate grams g[0..n) by their estimated postings, rarest
 * first: the first is walked, the next CAT_SEARCH_GRAMS_MAX - 1 are probed
 * in this order ("mountan": "tan" is in no item, its other four trigrams
 * in every "mountain"). *rows: the first one's estimate (INT64_MAX when
 * unknown).
 */
static int
cat_search_order(struct gw_db *db, struct gw_arena *a,
                 const char *g[CAT_SEARCH_CANDIDATES_MAX], size_t n,
                 int64_t *rows)
{
    int64_t     est[CAT_SEARCH_CANDIDATES_MAX], e;
    const char *t;
    size_t      i, j;
    int         rc;

    rc = cat_search_estimates(db, a, g, n, est);
    if (rc != GW_OK) {
        return rc;
    }
    for (i = 1; i < n; i++) { /* insertion sort: stable, n <= 8 */
        for (j = i; j > 0 && est[j] < est[j - 1]; j--) {
            e = est[j], est[j] = est[j - 1], est[j - 1] = e;
            t = g[j], g[j] = g[j - 1], g[j - 1] = t;
        }
    }
    *rows = n > 0 ? est[0] : INT64_MAX;
    return GW_OK;
}

/* Runs a search's id statements: the walk, then when its bound was hit
 * before a full page the rarest-gram plan. */
static int
cat_search_run(struct gw_db *db, struct gw_arena *a, const struct cat_query *q,
               const char *gp[CAT_SEARCH_CANDIDATES_MAX],
               const char *t[CAT_QUERY_TERMS_MAX], long long bound,
               MYSQL_RES **res)
{
    int rc;

    /* The arguments both statements share, in their order. */
#define CAT_SEARCH_ARGS                                                        \
    gp[1], gp[2], gp[3], gp[0], gp[1], gp[2], gp[3], q->kind, q->kind,         \
        q->category, q->category, t[0], t[0], t[1], t[1], t[2], t[2], t[3],    \
        t[3], t[4], t[4], q->has_cursor, (long long) q->after_key,             \
        (long long) q->after_key, (long long) q->after_id,                     \
        (long long) q->limit + 1
    rc = gw_db_query(db, a, res, cat_walk_sql[q->sort], CAT_SEARCH_ARGS, bound);
    /* A full page, or the whole walk (no bound hit): the page. */
    if (rc != GW_OK || mysql_num_rows(*res) > (uint64_t) q->limit
        || mysql_warning_count(db->conn) == 0) {
        return rc;
    }
    return gw_db_query(db, a, res, cat_page_sql[CAT_FILTER_SEARCH][q->sort],
                       CAT_SEARCH_ARGS);
#undef CAT_SEARCH_ARGS
}

/*
 * A search page: the grams of the normalised q, then the terms' LIKEs.
 * With nomatch_gen >= 0, a search already known to match nothing at that
 * catalog generation answers *res = NULL (no rows) without a statement,
 * and a first page without rows is remembered (cat_memo.c).
 */
static int
cat_page_search(struct gw_db *db, struct gw_arena *a, const struct cat_query *q,
                const char *t[CAT_QUERY_TERMS_MAX], const char *norm,
                int64_t nomatch_gen, MYSQL_RES **res)
{
    char        g[CAT_SEARCH_CANDIDATES_MAX][CAT_GRAM_BYTES_MAX];
    const char *gp[CAT_SEARCH_CANDIDATES_MAX];
    size_t      n = cat_search_grams(norm, g), k;
    long long   bound = (long long) CAT_SEARCH_WALK_ROWS * (q->limit + 1);
    int64_t     est = 0;
    int         rc, keyed;
    char        key[CAT_NOMATCH_KEY_MAX];

    if (n == 0) {
        return GW_EINVAL; /* a term has a gram: cannot happen */
    }
    rc = snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", norm,
                  q->kind ? q->kind : "", q->category ? q->category : "");
    keyed = nomatch_gen >= 0 && rc > 0 && (size_t) rc < sizeof(key);
    if (keyed && cat_nomatch_get(key, nomatch_gen)) {
        *res = NULL;
        return GW_OK;
    }
    for (k = 0; k < CAT_SEARCH_CANDIDATES_MAX; k++) {
        gp[k] = k < n ? g[k] : NULL;
    }
    if (!cat_search_dense(t, norm, n)) {
        rc = cat_search_order(db, a, gp, n, &est);
        if (rc != GW_OK) {
            return rc;
        }
        /* Walking all of the rarest gram's postings costs what the plan
         * that reads and sorts them does: the bound only stops a walk
         * whose estimate was wrong. */
        if (est > 0 && est < CAT_SEARCH_WALK_EST_MAX) {
            bound += (long long) est * CAT_SEARCH_WALK_PER_POSTING;
        }
    }
    for (k = CAT_SEARCH_GRAMS_MAX; k < CAT_SEARCH_CANDIDATES_MAX; k++) {
        gp[k] = NULL; /* the statements look up the first four */
    }
    rc = cat_search_run(db, a, q, gp, t, bound, res);
    /* Either statement's rows are every match from the cursor on. */
    if (rc == GW_OK && keyed && !q->has_cursor && mysql_num_rows(*res) == 0) {
        cat_nomatch_put(key, nomatch_gen);
    }
    return rc;
}

/* The bound of sort=new's keyset: after (key, id) in (id, id) order is
 * i.id < key, or i.id = key when key < id (our cursors have key = id). */
static int64_t
cat_new_bound(const struct cat_query *q)
{
    return q->after_key < q->after_id ? q->after_key + 1 : q->after_key;
}

/*
 * The bound of a popularity or price keyset after (key, id) on the packed
 * column key * 2^32 + id (migration 035), into *bound; 0 when every item is
 * after the cursor (no bound). The migration's CHECKs keep every item's
 * key within CAT_SORT_KEY_MIN..MAX and its id below 2^32; a cursor outside
 * them (not one of ours) gets the bound of the same place in the order.
 */
static int
cat_packed_bound(const struct cat_query *q, int64_t *bound)
{
    int64_t key = q->after_key, id = q->after_id;
    int     desc = q->sort != CAT_SORT_PRICE_ASC;

    if (id > CAT_SORT_ID_MAX) {
        /* Between (key, CAT_SORT_ID_MAX) and (key + 1, 0). */
        if (desc && key <= CAT_SORT_KEY_MAX) {
            key++;
            id = 0;
        } else {
            id = CAT_SORT_ID_MAX;
        }
    }
    if (key > CAT_SORT_KEY_MAX) {
        *bound = INT64_MAX; /* ascending: nothing is after it */
        return !desc;
    }
    if (key < CAT_SORT_KEY_MIN) {
        *bound = INT64_MIN; /* descending: nothing is after it */
        return desc;
    }
    *bound = key * CAT_SORT_KEY_SCALE + id;
    return 1;
}

/*
 * The inclusive end of q's keyset range into *end (`key <= end` for the
 * descending sorts, `key >= end` for price ascending): the first page's
 * is the end of the order. 0 when nothing is after the cursor. Exact:
 * the packed keys of items (ids >= 1) lie in INT64_MIN + 1..INT64_MAX.
 */
static int
cat_page_range(const struct cat_query *q, int64_t *end)
{
    int     asc = q->sort == CAT_SORT_PRICE_ASC;
    int64_t bound;

    *end = asc ? INT64_MIN : INT64_MAX;
    if (!q->has_cursor) {
        return 1;
    }
    if (q->sort == CAT_SORT_NEW) {
        bound = cat_new_bound(q); /* ids below it */
    } else if (!cat_packed_bound(q, &bound)) {
        return 1; /* every item is after the cursor */
    }
    if (asc ? bound == INT64_MAX : bound == INT64_MIN) {
        return 0;
    }
    *end = asc ? bound + 1 : bound - 1;
    return 1;
}

/* Runs a browse id statement (CAT_BROWSE_SORTS) with the filter's value
 * (NULL: no filter), q's keyset and limit + 1 (none: nothing is after
 * the cursor, and nothing is read). */
static int
cat_page_browse(struct gw_db *db, struct gw_arena *a, const struct cat_query *q,
                const char *sql, const struct gw_param *filter,
                struct gw_irows *rows)
{
    struct gw_param p[3];
    size_t          n = 0;
    int64_t         end;

    if (!cat_page_range(q, &end)) {
        return GW_OK;
    }
    if (filter != NULL) {
        p[n++] = *filter;
    }
    p[n++] = GW_I64(end);
    p[n++] = GW_I64(q->limit + 1);
    return gw_stmt_query_i64(db, a, rows, sql, p, n);
}

/* A category's page: none (no rows) when the slug is no category or
 * the kind is not the category's (nothing is read for it). */
static int
cat_page_category(struct gw_db *db, struct gw_arena *a,
                  const struct cat_query *q, int64_t gen, struct gw_irows *rows)
{
    const char *const *sql = cat_page_sql[CAT_FILTER_CATEGORY];
    char               kind[CAT_CATEGORY_KIND_MAX];
    int64_t            cid;
    int rc = cat_category_find(db, a, q->category, gen, &cid, kind);

    if (rc != GW_OK || cid == 0
        || (q->kind != NULL && strcmp(q->kind, kind) != 0)) {
        return rc;
    }
    return cat_page_browse(db, a, q, sql[q->sort], &GW_I64(cid), rows);
}

/* A search's result (NULL: none) as the id statements' rows. */
static int
cat_rows_of(struct gw_arena *a, MYSQL_RES *res, struct gw_irows *rows)
{
    MYSQL_ROW row;
    size_t    at;
    unsigned  i;

    if (res == NULL) {
        return GW_OK;
    }
    rows->ncols = mysql_num_fields(res);
    at = ((size_t) mysql_num_rows(res) + 1) * rows->ncols;
    rows->v = gw_arena_alloc(a, at * sizeof(*rows->v));
    rows->null = gw_arena_alloc(a, at);
    if (rows->v == NULL || rows->null == NULL) {
        return GW_ERROR;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        at = rows->n++ * rows->ncols;
        for (i = 0; i < rows->ncols; i++) {
            rows->v[at + i] = gw_db_col_i64(row, i);
            rows->null[at + i] = row[i] == NULL;
        }
    }
    return GW_OK;
}

/* The page's rows of the id query (limit + 1 at most; none also for a
 * search known to match nothing at gen, cat_page_search). */
static int
cat_page_ids(struct gw_db *db, struct gw_arena *a, const struct cat_query *q,
             int64_t gen, struct gw_irows *rows)
{
    const char *t[CAT_QUERY_TERMS_MAX], *const *sql;
    char       norm[CAT_QUERY_BYTES_MAX * 3 + 1] = "";
    MYSQL_RES *res = NULL;
    int        rc;

    memset(rows, 0, sizeof(*rows));
    if (cat_search_terms(a, q->q, t, norm, sizeof(norm)) != 0) {
        return GW_EINVAL;
    }
    if (t[0] != NULL) {
        /* A server's page (gen > 0) remembers searches without a match. */
        rc = cat_page_search(db, a, q, t, norm, gen > 0 ? gen : -1, &res);
        return rc == GW_OK ? cat_rows_of(a, res, rows) : rc;
    }
    if (q->category != NULL) {
        return cat_page_category(db, a, q, gen, rows);
    }
    if (q->kind != NULL) {
        sql = cat_page_sql[CAT_FILTER_KIND];
        return cat_page_browse(db, a, q, sql[q->sort], &GW_STR(q->kind), rows);
    }
    sql = cat_page_sql[CAT_FILTER_ALL];
    return cat_page_browse(db, a, q, sql[q->sort], NULL, rows);
}

/* Items being rendered: per item its fragment; for the items not cached,
 * their details as read. */
struct cat_fill {
    const int64_t   *ids;
    const char     **frag;
    size_t          *len;
    struct cat_item *items; /* details of the missing ones */
    int64_t         *version;
    int             *read;
    size_t           n;
};

/* Adds a details row (the item, then each further asset) to the fill. */
static void
cat_fill_row(MYSQL_ROW row, struct cat_fill *f)
{
    struct cat_item *it;
    size_t           k;
    int64_t          id = gw_db_col_i64(row, 0);

    for (k = 0; k < f->n && (f->ids[k] != id || f->frag[k] != NULL); k++) {
    }
    if (k == f->n) {
        return; /* not asked for (cannot happen) */
    }
    it = &f->items[k];
    if (!f->read[k]) {
        cat_item_base_from_row(row, it);
        f->version[k] = gw_db_col_i64(row, CAT_DETAILS_VERSION_COL);
        f->read[k] = 1;
    }
    if (row[CAT_DETAILS_ASSET_COL] != NULL && it->nassets < CAT_FORMATS_MAX) {
        struct cat_asset *as = &it->assets[it->nassets++];
        as->format = row[CAT_DETAILS_ASSET_COL];
        as->mime = row[CAT_DETAILS_ASSET_COL + 1];
        as->bytes = gw_db_col_i64(row, CAT_DETAILS_ASSET_COL + 2);
        as->path = row[CAT_DETAILS_ASSET_COL + 3];
    }
}

/* Renders item k (read from MariaDB) into its fragment and caches it
 * for gen: read after gen was, its details are never older than gen (a
 * bump since only makes them newer, and unreachable by the pages read
 * after that bump). */
static int
cat_fill_render(struct gw_arena *a, struct cat_frag_cache *frags, int64_t gen,
                struct cat_fill *f, size_t k)
{
    cJSON *o;
    char  *txt;

    if ((o = cat_item_json_new(&f->items[k])) == NULL) {
        return GW_ERROR;
    }
    txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (txt == NULL) {
        return GW_ERROR;
    }
    f->len[k] = strlen(txt);
    f->frag[k] = gw_arena_strndup(a, txt, f->len[k]);
    cat_frag_put(frags, f->items[k].id, f->version[k], gen, txt, f->len[k]);
    cJSON_free(txt);
    return f->frag[k] != NULL ? GW_OK : GW_ERROR;
}

/* Asset rows come per item in format order (the primary key's). */
static int
cat_asset_cmp(const void *x, const void *y)
{
    return strcmp(((const struct cat_asset *) x)->format,
                  ((const struct cat_asset *) y)->format);
}

/* Reads and renders the items whose fragment was not cached: one query. */
static int
cat_fill_missing(struct gw_db *db, struct gw_arena *a,
                 struct cat_frag_cache *frags, int64_t gen, struct cat_fill *f)
{
    struct gw_buf ids = {0};
    MYSQL_RES    *res;
    MYSQL_ROW     row;
    size_t        k, n = f->n;
    int           rc = GW_OK;

    f->items = gw_arena_calloc(a, n * sizeof(*f->items));
    f->version = gw_arena_calloc(a, n * sizeof(*f->version));
    f->read = gw_arena_calloc(a, n * sizeof(*f->read));
    if (f->items == NULL || f->version == NULL || f->read == NULL) {
        return GW_ERROR;
    }
    for (k = 0; k < n && rc == GW_OK; k++) {
        if (f->frag[k] == NULL
            && gw_buf_printf(&ids, "%c%lld", ids.len ? ',' : '[',
                             (long long) f->ids[k])
                != 0) {
            rc = GW_ERROR;
        }
    }
    if (rc == GW_OK && gw_buf_appends(&ids, "]") != 0) {
        rc = GW_ERROR;
    }
    if (rc == GW_OK) {
        rc = gw_db_query(db, a, &res, CAT_DETAILS_SQL, ids.data);
    }
    gw_buf_free(&ids);
    while (rc == GW_OK && (row = mysql_fetch_row(res)) != NULL) {
        cat_fill_row(row, f);
    }
    for (k = 0; k < n && rc == GW_OK; k++) {
        if (f->read[k]) {
            qsort(f->items[k].assets, f->items[k].nassets,
                  sizeof(struct cat_asset), cat_asset_cmp);
            rc = cat_fill_render(a, frags, gen, f, k);
        }
    }
    return rc;
}

/* Items of pages found in the fragment cache or read from MariaDB: a miss
 * rate that stays up on a warm server means a cache smaller than the
 * catalog ([catalog] fragment_cache_mb) or items that keep changing. */
static int cat_m_frag_hit = -1, cat_m_frag_miss = -1;

void
cat_frag_metrics_init(void)
{
    cat_m_frag_hit = gw_metrics_register(
        "vasgw_catalog_fragment_hits_total",
        "Items of catalog pages served from the fragment cache",
        GW_METRIC_COUNTER);
    cat_m_frag_miss = gw_metrics_register(
        "vasgw_catalog_fragment_misses_total",
        "Items of catalog pages read and rendered from MariaDB",
        GW_METRIC_COUNTER);
}

int
cat_items_fragments(struct gw_db *db, struct gw_arena *a,
                    struct cat_frag_cache *frags, int64_t gen, size_t n,
                    const int64_t *ids, const int64_t *versions,
                    const char **frag, size_t *len)
{
    struct cat_fill f = {ids, frag, len, NULL, NULL, NULL, n};
    size_t          k, missing = 0;

    cat_frag_prefetch(frags, ids, n);
    for (k = 0; k < n; k++) {
        frag[k] = NULL;
        if (!cat_frag_get(frags, ids[k], versions[k], gen, a, &frag[k],
                          &len[k])) {
            frag[k] = NULL;
            missing++;
        }
    }
    if (frags != NULL && n > 0) { /* fragment_cache = 0 counts nothing */
        gw_metrics_add(cat_m_frag_hit, (int64_t) (n - missing));
        gw_metrics_add(cat_m_frag_miss, (int64_t) missing);
    }
    return missing ? cat_fill_missing(db, a, frags, gen, &f) : GW_OK;
}

/* One page being assembled: the id query's rows (the last one makes the
 * cursor) and each item's fragment. */
struct cat_page {
    const struct gw_irows *rows;
    const char           **frag;
    size_t                *len;
    size_t                 n;
};

/* Appends `],"next_cursor":"c"}` (or null) and a NUL at out + o (room for
 * 64 bytes and the cursor: cat_page_join's cap); the new length. */
static size_t
cat_page_tail(char *out, size_t o, const char *cursor)
{
    static const char head[] = "],\"next_cursor\":";
    size_t            n;

    memcpy(out + o, head, sizeof(head) - 1);
    o += sizeof(head) - 1;
    if (cursor == NULL) {
        memcpy(out + o, "null", 4);
        o += 4;
    } else {
        n = strlen(cursor);
        out[o++] = '"';
        memcpy(out + o, cursor, n);
        o += n;
        out[o++] = '"';
    }
    out[o++] = '}';
    out[o] = '\0';
    return o;
}

int
cat_page_join(struct gw_arena *a, const char *const *part, const size_t *len,
              size_t n, const char *cursor, const char **body, size_t *body_len)
{
    char  *out;
    size_t k, cap = 64 + (cursor ? strlen(cursor) : 0), o;

    for (k = 0; k < n; k++) {
        cap += part[k] ? len[k] + 1 : 0;
    }
    if ((out = gw_arena_alloc(a, cap)) == NULL) {
        return GW_ERROR;
    }
    memcpy(out, "{\"items\":[", 10);
    o = 10;
    for (k = 0; k < n; k++) {
        if (part[k] != NULL) {
            if (out[o - 1] != '[') {
                out[o++] = ',';
            }
            memcpy(out + o, part[k], len[k]);
            o += len[k];
        }
    }
    o = cat_page_tail(out, o, cursor);
    *body = out;
    *body_len = o;
    return GW_OK;
}

/* The page of the fragments, its cursor from the id query's last row
 * (shown or not: deleted meanwhile) when there is a next page. */
static int
cat_page_body(struct gw_arena *a, const struct cat_query *q,
              const struct cat_page *pg, int more, const char **body)
{
    char           cursor[CAT_CURSOR_MAX + 1];
    size_t         len;
    const int64_t *last =
        pg->n > 0 ? pg->rows->v + (pg->n - 1) * pg->rows->ncols : NULL;
    int has_cursor = more && last != NULL
        && cat_cursor_encode(q->sort, cat_sort_key(q->sort, last), last[0],
                             cursor, sizeof(cursor))
            == 0;

    return cat_page_join(a, pg->frag, pg->len, pg->n,
                         has_cursor ? cursor : NULL, body, &len);
}

int
cat_items_page_render(struct gw_db *db, struct gw_arena *a,
                      const struct cat_query *q, struct cat_frag_cache *frags,
                      int64_t *gen, const char **body)
{
    struct gw_irows rows;
    struct cat_page pg = {0};
    size_t          cap = (size_t) q->limit, k;
    int64_t        *ids, *versions, read_gen = -1;
    int             rc = cat_page_ids(db, a, q, *gen, &rows);

    if (rc != GW_OK) {
        return rc;
    }
    if (rows.n > 0 && !rows.null[CAT_IDS_GEN_COL]) {
        /* The generation of the page's snapshot: the host's copy may be
         * up to CAT_GEN_POLL_MS behind it; now every worker has it. */
        read_gen = rows.v[CAT_IDS_GEN_COL];
        cat_cache_advance(read_gen);
        *gen = read_gen;
    }
    pg.rows = &rows;
    pg.n = rows.n < cap ? rows.n : cap; /* the limit + 1st: a next page */
    pg.frag = gw_arena_alloc(a, (pg.n + 1) * sizeof(*pg.frag));
    pg.len = gw_arena_alloc(a, (pg.n + 1) * sizeof(*pg.len));
    ids = gw_arena_alloc(a, (pg.n + 1) * sizeof(*ids));
    versions = gw_arena_alloc(a, (pg.n + 1) * sizeof(*versions));
    if (pg.frag == NULL || pg.len == NULL || ids == NULL || versions == NULL) {
        return GW_ERROR;
    }
    for (k = 0; k < pg.n; k++) {
        ids[k] = rows.v[k * rows.ncols];
        versions[k] = rows.v[k * rows.ncols + 1];
    }
    rc = cat_items_fragments(db, a, frags, read_gen, pg.n, ids, versions,
                             pg.frag, pg.len);
    return rc == GW_OK ? cat_page_body(a, q, &pg, rows.n > cap, body) : rc;
}

int
cat_categories_new(struct gw_db *db, struct gw_arena *a, cJSON **out)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    cJSON     *page, *arr, *o;
    int        rc;

    rc = gw_db_query(db, a, &res,
                     "SELECT c.id, c.slug, c.name, c.kind, COUNT(i.id)"
                     " FROM categories c LEFT JOIN items i"
                     " ON i.category_id = c.id AND i.status = 'active'"
                     " GROUP BY c.id ORDER BY c.kind, c.slug");
    if (rc != GW_OK) {
        return rc;
    }
    page = cJSON_CreateObject();
    arr = page ? cJSON_AddArrayToObject(page, "items") : NULL;
    while (arr != NULL && (row = mysql_fetch_row(res)) != NULL) {
        if ((o = cJSON_CreateObject()) == NULL) {
            break;
        }
        cJSON_AddNumberToObject(o, "id", (double) gw_db_col_i64(row, 0));
        cJSON_AddStringToObject(o, "slug", row[1]);
        cJSON_AddStringToObject(o, "name", row[2]);
        cJSON_AddStringToObject(o, "kind", row[3]);
        cJSON_AddNumberToObject(o, "item_count",
                                (double) gw_db_col_i64(row, 4));
        cJSON_AddItemToArray(arr, o);
    }
    *out = page;
    return page != NULL ? GW_OK : GW_ERROR;
}

/* Start (UTC seconds) of the current business day or ISO week. */
static int64_t
cat_period_start(int week, int64_t day_offset_min)
{
    int64_t off = day_offset_min * 60, local = gw_now_s() + off;
    int64_t days = local / 86400, start = days * 86400 - off;

    if (week) {
        start -= ((days + 3) % 7) * 86400; /* 1970-01-01 was a Thursday */
    }
    return start;
}

int
cat_charts_new(struct gw_db *db, struct gw_arena *a, const char *kind, int week,
               int64_t day_offset_min, cJSON **out)
{
    MYSQL_RES      *res;
    MYSQL_ROW       row;
    struct cat_item it;
    cJSON          *page, *arr, *o;
    int             rc, rank = 0;

    rc = gw_db_query(
        db, a, &res,
        "SELECT " CAT_ITEM_COLS ", t.n FROM " CAT_ITEM_FROM
        " JOIN (SELECT item_id, COUNT(*) AS n FROM purchases"
        " WHERE created_at >= DATE_ADD('1970-01-01', INTERVAL %lld SECOND)"
        " AND status <> 'refunded' GROUP BY item_id) t ON t.item_id = i.id"
        " WHERE i.status = 'active' AND (%s IS NULL OR i.kind = %s)"
        " ORDER BY t.n DESC, i.id ASC LIMIT %d",
        (long long) cat_period_start(week, day_offset_min), kind, kind,
        CAT_CHART_SIZE);
    if (rc != GW_OK) {
        return rc;
    }
    page = cJSON_CreateObject();
    arr = page ? cJSON_AddArrayToObject(page, "items") : NULL;
    while (arr != NULL && (row = mysql_fetch_row(res)) != NULL) {
        cat_item_from_row(a, row, &it);
        if ((o = cJSON_CreateObject()) == NULL) {
            break;
        }
        cJSON_AddNumberToObject(o, "rank", ++rank);
        cJSON_AddNumberToObject(o, "purchases",
                                (double) gw_db_col_i64(row, 20));
        cJSON_AddItemToObject(o, "item", cat_item_json_new(&it));
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddStringToObject(page, "period", week ? "week" : "day");
    *out = page;
    return page != NULL ? GW_OK : GW_ERROR;
}

/*
 * "items" and the fields, each after a 0x1f: kind, category, text, sort,
 * limit, has_cursor, after_key, after_id (every page's key: memcpy and
 * gw_i64_text, not a printf of eight fields).
 */
static const char *
cat_key_join(struct gw_arena *a, const char *kind, const char *category,
             const char *text, const struct cat_query *q)
{
    const char *s[3] = {kind, category, text};
    int64_t v[5] = {(int64_t) q->sort, q->limit, q->has_cursor, q->after_key,
                    q->after_id};
    size_t  len[3], i, o = 5;
    char   *out;

    for (i = 0; i < 3; i++) {
        len[i] = strlen(s[i]);
    }
    out = gw_arena_alloc(
        a, 5 + len[0] + len[1] + len[2] + 5 * (1 + GW_I64_TEXT_MAX) + 4);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, "items", 5);
    for (i = 0; i < 3; i++) {
        out[o++] = '\x1f';
        memcpy(out + o, s[i], len[i]);
        o += len[i];
    }
    for (i = 0; i < 5; i++) {
        out[o++] = '\x1f';
        o += gw_i64_text(out + o, v[i]);
    }
    return out;
}

const char *
cat_query_key(struct gw_arena *a, const struct cat_query *q)
{
    char        norm[CAT_QUERY_BYTES_MAX * 3 + 1];
    const char *text = q->q;

    /* Normalised as the search matches it, so "  Love ", "love" and
     * "ｌｏｖｅ" are one entry; invalid UTF-8 keeps its bytes (the page
     * then answers 400 and nothing is cached). */
    if (text != NULL && cat_search_normalize(text, norm, sizeof(norm)) >= 0) {
        text = norm[0] != '\0' ? norm : NULL;
    }
    return cat_key_join(a, q->kind ? q->kind : "",
                        q->category ? q->category : "", text ? text : "", q);
}
