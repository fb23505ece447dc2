/*
 * cat_frag.h — each item's rendered JSON object (API.md's catalog item),
 * cached in the worker process, keyed by item id and valid for one
 * (version, generation): items.version moves with every UPDATE of the row
 * (migration 015), the catalog generation with every change of assets,
 * providers and categories (cat_cache.h). A list page is one index-range
 * query for the page's (id, version) pairs; only the items whose fragment
 * is missing or stale are read and rendered (cat_browse.c).
 *
 * Direct-mapped by id (CAT_FRAG_SLOTS; ids are dense, so a catalog of up
 * to that many items has no collisions), one malloc'd copy per slot,
 * CAT_FRAG_LOCKS striped mutexes. Thread-safe; lookups copy into the
 * caller's arena. Memory: at most CAT_FRAG_SLOTS * CAT_FRAG_BODY_MAX.
 */
#ifndef CAT_FRAG_H
#define CAT_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "gw_arena.h"

#define CAT_FRAG_SLOTS    (1 << 17) /* 131,072 items per worker process */
#define CAT_FRAG_LOCKS    256
#define CAT_FRAG_BODY_MAX 4096 /* a larger item is rendered every time */

struct cat_frag_cache;

/* A new, empty cache; NULL when out of memory. */
struct cat_frag_cache *cat_frag_new(void);

/* Frees the cache and its fragments. */
void cat_frag_free(struct cat_frag_cache *c);

/* 1 and a copy of the fragment in a when (id, version, gen) is cached,
 * else 0. c may be NULL (no cache: always 0). */
int cat_frag_get(struct cat_frag_cache *c, int64_t id, int64_t version,
                 int64_t gen, struct gw_arena *a, const char **body,
                 size_t *len);

/*
 * Starts loading the fragments of ids[0..n) into the CPU's cache, so that
 * their misses overlap instead of coming one after the other in each
 * cat_frag_get: the cache of 100,000 items is ~40 MB, so every lookup of
 * a page's 20 misses the CPU's caches and TLB (~11% of a worker's user
 * CPU on the list rows went to copying fragments). Only a hint: nothing
 * is copied or checked. c may be NULL.
 */
void cat_frag_prefetch(struct cat_frag_cache *c, const int64_t *ids, size_t n);

/* Stores a copy of body for (id, version, gen), replacing the slot's. A
 * negative gen (generation unknown) stores nothing. c may be NULL. */
void cat_frag_put(struct cat_frag_cache *c, int64_t id, int64_t version,
                  int64_t gen, const char *body, size_t len);

#endif /* CAT_FRAG_H */
