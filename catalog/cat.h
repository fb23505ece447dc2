/*
 * cat.h — the catalog domain: items, categories, browse queries, search,
 * charts, admin item changes and the popularity refresh. No HTTP here:
 * functions take a struct gw_db and an arena and return gw_status codes.
 *
 * Ownership: every string a function hands out lives in the caller's
 * arena (or in a MariaDB result registered with it) and dies at its reset.
 * Thread-safety: reentrant; the db and arena belong to the calling thread.
 * Errors: GW_ENOTFOUND (unknown/retired item), GW_EINVAL (bad argument,
 * *why set to a static reason), database statuses (GW_ERETRY, …).
 */
#ifndef CAT_H
#define CAT_H

#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "gw_arena.h"
#include "gw_db.h"

/* Limits of the catalog (docs/catalog-feed.md, API.md). */
#define CAT_PAGE_LIMIT_DEFAULT 20
#define CAT_PAGE_LIMIT_MAX     100
#define CAT_FORMATS_MAX        3 /* midi, amr, mp3 */
#define CAT_SKU_MAX            64
#define CAT_SLUG_MAX           64
#define CAT_TITLE_MAX          200 /* characters */
#define CAT_ARTIST_MAX         200
#define CAT_CATEGORY_NAME_MAX  100
#define CAT_PATH_MAX           255
#define CAT_FILE_BYTES_MAX     (10 * 1024 * 1024)
#define CAT_PRICE_MAX          1000000000LL
#define CAT_PLAYERS_MAX        64
#define CAT_PASS_DAYS_MAX      366
#define CAT_URL_MAX            2048
#define CAT_QUERY_BYTES_MAX    200 /* q= */
#define CAT_QUERY_TERMS_MAX    5   /* words of q, ANDed */
#define CAT_SEARCH_TEXT_MAX    512 /* items.search_text */
#define CAT_CURSOR_MAX         128 /* encoded cursor */
#define CAT_CHART_SIZE         20
#define CAT_SEARCH_GRAMS_MAX   4 /* index grams a search looks up */
/* Grams a search chooses those from (by their estimated postings). */
#define CAT_SEARCH_CANDIDATES_MAX 8
/* Rows a search page may examine per row of the page while it walks one
 * gram's postings in sort order, before it reads all the matches of the
 * rarest gram instead (cat_browse.c). */
#define CAT_SEARCH_WALK_ROWS 40
/* A walk from the gram the optimizer picked may also examine this many
 * rows per posting it estimates (the posting and the other grams' probes:
 * about what reading and sorting them all costs), for estimates below
 * CAT_SEARCH_WALK_EST_MAX. */
#define CAT_SEARCH_WALK_PER_POSTING 8
#define CAT_SEARCH_WALK_EST_MAX     100000000
#define CAT_GRAM_CHARS_MAX          3  /* item_grams: 1- to 3-character grams */
#define CAT_GRAM_BYTES_MAX          13 /* three UTF-8 characters + NUL */
/* Per-process cache of each gram's estimated postings (cat_memo.c),
 * which orders a search's grams: slots, and how long an estimate is used
 * (it only picks the walked gram; a stale one costs reads, not matches). */
#define CAT_GRAMSTAT_SLOTS  4096
#define CAT_GRAMSTAT_TTL_MS 60000
/* Per-process memory of searches without a match (cat_memo.c): slots,
 * the longest key (normalised q, kind and category) kept, and how long one
 * is trusted for its catalog generation. */
#define CAT_NOMATCH_SLOTS   1024
#define CAT_NOMATCH_KEY_MAX 256
#define CAT_NOMATCH_TTL_MS  60000

struct cat_asset {
    const char *format; /* "midi" | "amr" | "mp3" */
    const char *mime;
    const char *path; /* relative to the content store */
    int64_t     bytes;
};

struct cat_item {
    int64_t          id;
    const char      *kind; /* "ringtone" | "game" */
    const char      *sku;
    const char      *title;
    const char      *artist; /* NULL */
    int64_t          provider_id;
    const char      *provider_name;
    int64_t          share_bp; /* provider's revenue share */
    const char      *category; /* slug */
    int64_t          price;
    const char      *currency;
    const char      *status; /* "active" | "retired" */
    int64_t          popularity;
    const char      *created_at; /* RFC 3339 */
    const char      *preview_path;
    int64_t          min_players, max_players, pass_days;
    const char      *pricing; /* games: "per_play" | "pass" */
    struct cat_asset assets[CAT_FORMATS_MAX];
    size_t           nassets;
};

/* Browse parameters (API.md GET /v1/catalog/items). */
enum cat_sort {
    CAT_SORT_POPULAR,
    CAT_SORT_NEW,
    CAT_SORT_PRICE_ASC,
    CAT_SORT_PRICE_DESC
};

struct cat_query {
    const char   *kind;     /* NULL: all */
    const char   *category; /* slug or NULL */
    const char   *q;        /* search text or NULL */
    enum cat_sort sort;
    int64_t       limit;
    int           has_cursor;
    int64_t       after_key; /* sort value of the last item seen */
    int64_t       after_id;
};

/*
 * Loads an item by id. With active_only, a retired item is GW_ENOTFOUND.
 * for_update is not used for locking: items are read as of the snapshot.
 */
int cat_item_find(struct gw_db *db, struct gw_arena *a, int64_t id,
                  int active_only, struct cat_item *out);

/*
 * cat_item_find from a per-process copy of the item's row kept for the
 * catalog generation gen (CAT_ITEM_CACHE_SLOTS entries, thread-safe); a
 * miss, or gen < 0, reads MariaDB. The copy is at least as new as gen (it
 * is read after gen was), so a caller that charges the item's price must
 * check, inside its transaction, that gen is still the current generation
 * (store_buy does, with a locking read folded into its purchase INSERT).
 */
#define CAT_ITEM_CACHE_SLOTS 512
int cat_item_find_gen(struct gw_db *db, struct gw_arena *a, int64_t id,
                      int64_t gen, int active_only, struct cat_item *out);

/* The asset of item in format, or NULL. */
const struct cat_asset *cat_item_asset(const struct cat_item *item,
                                       const char            *format);

/* The item as API.md's JSON object (a new tree; caller owns it). */
cJSON *cat_item_json_new(const struct cat_item *item);

struct cat_frag_cache; /* cat_frag.h */

/*
 * The catalog generation as a column of a statement that reads items: an
 * uncorrelated subquery (one primary-key read per statement, no round
 * trip), read in the statement's own snapshot, so the rows and the
 * generation go together (a change and its bump commit together).
 */
#define CAT_GENERATION_COL "(SELECT generation FROM catalog_meta WHERE id = 1)"

/*
 * One page of items as API.md's {"items":[...],"next_cursor":...} text, in
 * a. *gen is the host's copy of the generation on entry (cat_cache.h): it
 * keys the search no-match memo and the category look-up. The id query
 * reads the generation itself (CAT_GENERATION_COL): item objects come
 * from frags (may be NULL: no cache) when their (id, version, that
 * generation) is cached, so a fragment made before a bump is never
 * joined into a page read after it; the others are read in one query,
 * rendered and stored there. On return *gen is the generation the page
 * was read at (the host's copy is raised to it), or unchanged for
 * an empty page. Unknown filters simply match nothing. GW_EINVAL: q's
 * search text is not valid UTF-8. With frags, a search that matched no
 * item at gen is remembered and answered without SQL until gen moves.
 */
int cat_items_page_render(struct gw_db *db, struct gw_arena *a,
                          const struct cat_query *q,
                          struct cat_frag_cache *frags, int64_t *gen,
                          const char **body);

/*
 * The rendered item objects (API.md's catalog item) of n items, ids[k] as
 * of versions[k], into frag[k] and len[k] (copied into a): from frags
 * (may be NULL) when (id, version, gen) is cached, the others read in one
 * query (each by primary key, its assets by their index), rendered and
 * stored there. gen must be the generation read with ids and versions
 * (CAT_GENERATION_COL in the same statement), not the host's copy, which
 * can be behind a bump the caller's rows reflect (the fragments cached
 * before it would be served); the details query runs after that
 * statement, so what it stores for gen is never older than gen. An item
 * not found (deleted meanwhile) leaves frag[k] NULL.
 */
int cat_items_fragments(struct gw_db *db, struct gw_arena *a,
                        struct cat_frag_cache *frags, int64_t gen, size_t n,
                        const int64_t *ids, const int64_t *versions,
                        const char **frag, size_t *len);

/*
 * A page body {"items":[...],"next_cursor":...} in a: the n JSON objects
 * part[k] (len[k] bytes; NULL ones left out) in order, and cursor (an
 * encoded cursor, or NULL for the last page). Its length in *body_len.
 */
int cat_page_join(struct gw_arena *a, const char *const *part,
                  const size_t *len, size_t n, const char *cursor,
                  const char **body, size_t *body_len);

/*
 * The cache key of a page query: its parsed fields with q normalised as
 * the search matches it (padding, case and full-width forms do not mint
 * new keys; parameter order never did). In a; NULL when out of memory.
 */
const char *cat_query_key(struct gw_arena *a, const struct cat_query *q);

/* {"items":[{"id","slug","name","kind","item_count"}]} (caller owns). */
int cat_categories_new(struct gw_db *db, struct gw_arena *a, cJSON **out);

/*
 * Charts: the CAT_CHART_SIZE best sellers of kind in the current business
 * day or week (day_offset_min: UTC offset of the business day).
 */
int cat_charts_new(struct gw_db *db, struct gw_arena *a, const char *kind,
                   int week, int64_t day_offset_min, cJSON **out);

/* Parses sort= ("popular" default when NULL). 0 or -1. */
int cat_sort_parse(const char *s, enum cat_sort *out);

/*
 * Cursors: base64url of "v1.<sort>.<key>.<id>". Encode into out[cap];
 * decode checks the sort matches. 0 or -1.
 */
int cat_cursor_encode(enum cat_sort sort, int64_t key, int64_t id, char *out,
                      size_t cap);
int cat_cursor_decode(const char *s, enum cat_sort sort, int64_t *key,
                      int64_t *id);

/*
 * Search normalisation: lower-cases ASCII, folds full-width ASCII
 * (U+FF01..U+FF5E) and the ideographic space to ASCII, collapses blanks.
 * Writes at most cap-1 bytes + NUL into out (never splits a UTF-8
 * sequence). Returns the length, or -1 on invalid UTF-8.
 */
long cat_search_normalize(const char *in, char *out, size_t cap);

/*
 * Builds the LIKE pattern "%term%" for one term with % _ and \ escaped
 * (backslash is LIKE's default escape). out needs 2 * strlen(term) + 3.
 */
void cat_search_like(const char *term, size_t len, char *out);

/*
 * The index grams (item_grams: 1- to 3-character substrings) a search for
 * the normalised text norm may look up: up to CAT_SEARCH_CANDIDATES_MAX,
 * the terms in turn, one gram of each per round. A term of three or more
 * characters has its trigrams, a shorter one is its own gram; of a term's
 * grams those with CJK characters first. The search looks up the rarest
 * CAT_SEARCH_GRAMS_MAX of them (or the first ones).
 * Every item matching all terms has all of them; LIKE then checks the few
 * candidates. Returns how many were written (0 for an empty norm).
 */
size_t
cat_search_grams(const char *norm,
                 char grams[CAT_SEARCH_CANDIDATES_MAX][CAT_GRAM_BYTES_MAX]);

/* Bumps the catalog generation inside the caller's transaction. */
int cat_generation_bump(struct gw_db *db);

/* Reads the catalog generation. */
int cat_generation_get(struct gw_db *db, struct gw_arena *a, int64_t *gen);

/*
 * Folds the next purchases (ids in (mark, mark + batch]) into
 * items.popularity and advances the mark kept in catalog_jobs, in one
 * transaction: a failure leaves the mark where it was, so the next call
 * resumes there (never a recount from zero). *folded: purchase ids
 * consumed (0 when up to date). Run by the janitor, so no purchase ever
 * updates a hit item's row. GW_OK or a db status.
 */
int cat_popularity_refresh(struct gw_db *db, struct gw_arena *a, int64_t batch,
                           int64_t *folded);

/* MIME type and file extension of a format, or NULL for an unknown one. */
const char *cat_format_mime(const char *format);
const char *cat_format_ext(const char *format);

#endif /* CAT_H */
