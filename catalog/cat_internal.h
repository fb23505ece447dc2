/*
 * cat_internal.h — shared by the catalog sources only: the one column list
 * every item query selects (so cat_item_from_row reads them all the same
 * way). Not part of the catalog's contract.
 */
#ifndef CAT_INTERNAL_H
#define CAT_INTERNAL_H

#include "cat.h"

/* "%%" is a literal '%' for the gw_db formatter. */
#define CAT_ITEM_BASE_COLS                                                     \
    "i.id, i.kind, i.sku, i.title, i.artist, p.id, p.name, c.slug,"            \
    " i.price, i.currency, i.status, i.popularity,"                            \
    " DATE_FORMAT(i.created_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ'),"                  \
    " i.preview_path, i.min_players, i.max_players, i.pricing,"                \
    " i.pass_days, p.revenue_share_bp"

/* The assets of i as "fmt:mime:bytes:path|…", grouped by i.id. */
#define CAT_ITEM_ASSETS_AGG                                                    \
    "GROUP_CONCAT(CONCAT_WS(':', a.format, a.mime, a.bytes, a.path)"           \
    " ORDER BY a.format SEPARATOR '|')"

/* One item (by id): the assets subquery runs once. */
#define CAT_ITEM_COLS                                                          \
    CAT_ITEM_BASE_COLS ", (SELECT " CAT_ITEM_ASSETS_AGG " FROM item_assets a"  \
                       " WHERE a.item_id = i.id)"

#define CAT_ITEM_FROM                                                          \
    "items i JOIN providers p ON p.id = i.provider_id"                         \
    " JOIN categories c ON c.id = i.category_id"

/* Fills it from a row of CAT_ITEM_COLS (strings borrowed from the row). */
void cat_item_from_row(struct gw_arena *a, MYSQL_ROW row, struct cat_item *it);

/* The same without the assets (columns 0..18, CAT_ITEM_BASE_COLS). */
void cat_item_base_from_row(MYSQL_ROW row, struct cat_item *it);

/* Registers the item fragment cache's hit and miss counters; from
 * cat_cache_init, before the fork. */
void cat_frag_metrics_init(void);

/*
 * Search grams' estimated postings, cached per process (cat_memo.c):
 * cat_gramstat_get gives 1 and *est for gram's estimate stored within
 * CAT_GRAMSTAT_TTL_MS, else 0; cat_gramstat_put stores one (replacing the
 * slot's). Safe from any thread.
 */
int  cat_gramstat_get(const char *gram, int64_t *est);
void cat_gramstat_put(const char *gram, int64_t est);

/* Room for a category's kind ("ringtone", "game") and its NUL. */
#define CAT_CATEGORY_KIND_MAX 16

/*
 * The id and kind of the category slug (*id = 0, kind "": none), as of
 * catalog generation gen: remembered by the process per generation
 * (gen > 0), else one unique-key SELECT (cat_memo.c). Thread-safe.
 */
int cat_category_find(struct gw_db *db, struct gw_arena *a, const char *slug,
                      int64_t gen, int64_t *id,
                      char kind[CAT_CATEGORY_KIND_MAX]);

/*
 * Searches that matched no item, remembered per process (cat_memo.c):
 * cat_nomatch_get gives 1 when key (the normalised q and its filters) was
 * stored for generation gen within CAT_NOMATCH_TTL_MS; cat_nomatch_put
 * stores it. gen < 0: neither does anything. Safe from any thread.
 */
int  cat_nomatch_get(const char *key, int64_t gen);
void cat_nomatch_put(const char *key, int64_t gen);

#endif /* CAT_INTERNAL_H */
