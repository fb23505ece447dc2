/*
 * cat_cache.h — rendered catalog replies (list pages, items, categories,
 * charts) cached in each worker process, keyed by request key and the
 * catalog generation (docs/store.md, "Cache").
 *
 * The generation lives in MariaDB (catalog_meta), bumped in the same
 * transaction as every catalog change (admin items, feed imports). Each
 * host keeps a copy in a shared mapping made before the master forks:
 *   - a change made through this host's gateway refreshes the copy right
 *     after its commit, so every worker of the host sees it at once;
 *   - changes made elsewhere (vasctl import, other hosts) are picked up by
 *     a poll of catalog_meta at most every CAT_GEN_POLL_MS (one query per
 *     host per period, elected with a CAS), or sooner by any statement
 *     that reads the generation with its rows (cat_cache_advance).
 * So a reply served from this cache is at most CAT_GEN_POLL_MS behind a
 * change made elsewhere; a list page rendered from MariaDB is never
 * behind (its id query reads the generation, cat_items_page_render).
 * Entries also expire after CAT_CACHE_TTL_MS so popularity moves.
 *
 * Thread-safety: all functions are safe from any thread (per-slot locks).
 * Memory: bodies are malloc'd copies owned by the cache; lookups copy
 * them into the caller's arena.
 */
#ifndef CAT_CACHE_H
#define CAT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "gw_arena.h"
#include "gw_db.h"

#define CAT_CACHE_SLOTS       1024 /* direct-mapped entries per process */
#define CAT_CACHE_KEY_MAX     512  /* longer keys are not cached */
#define CAT_CACHE_BODY_MAX    (512 * 1024)
#define CAT_CACHE_TTL_MS      5000
#define CAT_CACHE_WAIT_MS     1000 /* waiting for another request's render */
#define CAT_CACHE_FILL_MAX_MS 3000 /* a filler older than this is gone */
#define CAT_GEN_POLL_MS       250
#define CAT_ETAG_MAX          24 /* "\"" + 16 hex + "\"" */

/* Maps the shared generation block; call once before forking. 0 or -1. */
int cat_cache_init(void);

/*
 * The catalog generation to key entries with (polls MariaDB when the
 * host copy is older than CAT_GEN_POLL_MS; without cat_cache_init, reads
 * MariaDB every time). A failed poll keeps the last value.
 */
int64_t cat_cache_generation(struct gw_db *db, struct gw_arena *a);

/* Re-reads the generation now (after committing a catalog change). */
void cat_cache_refresh(struct gw_db *db, struct gw_arena *a);

/* Raises the host's copy to gen, a generation a statement just read with
 * its rows (CAT_GENERATION_COL); never lowers it. No SQL. */
void cat_cache_advance(int64_t gen);

/*
 * Looks key up for gen: 1 on a hit (body, len and etag copied into a),
 * else 0.
 */
int cat_cache_get(const char *key, int64_t gen, struct gw_arena *a,
                  const char **body, size_t *len, const char **etag);

/* What cat_cache_lookup found. */
enum cat_cache_result {
    CAT_CACHE_HIT,   /* a fresh body (or the one a concurrent filler made) */
    CAT_CACHE_STALE, /* an expired body of this generation: serve it, another
                      * request is refreshing it */
    CAT_CACHE_FILL,  /* the caller renders: cat_cache_put (or, on error,
                      * cat_cache_abandon) must follow */
    CAT_CACHE_MISS   /* render without waiting; storing is allowed */
};

/*
 * Single flight with stale-while-revalidate: of the requests for one
 * expired or missing key, one gets CAT_CACHE_FILL; the others get the
 * previous body (CAT_CACHE_STALE) when it is of the current generation
 * (a catalog change is never served stale), else wait for the filler's
 * body (at most CAT_CACHE_WAIT_MS). Counts hits, stale and misses in the
 * vas_catalog_cache_* metrics. body, len and etag are copied into a.
 */
int cat_cache_lookup(const char *key, int64_t gen, struct gw_arena *a,
                     const char **body, size_t *len, const char **etag);

/* Gives up a CAT_CACHE_FILL (the render failed): waiters render. */
void cat_cache_abandon(const char *key);

/* Stores a copy of body (and its etag) for key and gen; ends the key's
 * fill. */
void cat_cache_put(const char *key, int64_t gen, const char *body, size_t len,
                   const char *etag);

/* Strong ETag of a body: its XXH3-64 as 16 hex digits, in quotes. */
void cat_cache_etag(const char *body, size_t len, char out[CAT_ETAG_MAX]);

#endif /* CAT_CACHE_H */
