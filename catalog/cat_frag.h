/*
 * cat_frag.h — each item's rendered JSON object (API.md's catalog item),
 * cached for the whole host, keyed by item id and valid for one
 * (version, generation): items.version moves with every UPDATE of the row
 * (migration 015), the catalog generation with every change of assets,
 * providers and categories (cat_cache.h). A list page is one index-range
 * query for the page's (id, version) pairs; only the items whose fragment
 * is missing or stale are read and rendered (cat_browse.c).
 *
 * Shared memory, like php-fpm's opcache and nginx's shared zones: the
 * master maps the cache before it forks, so every worker reads and fills
 * the same copy and a recycled or restarted worker starts warm (a
 * per-worker cache of 100,000 items was lost with every recycle —
 * [server] max_requests, about once a minute per worker at bench rates —
 * and held once per worker). Fixed memory whatever the fragments' sizes:
 * a ring of [catalog] fragment_cache_mb that new fragments overwrite
 * oldest first, and one slot per CAT_FRAG_BYTES_PER_SLOT of it,
 * direct-mapped by id (ids are dense, so a catalog of up to that many
 * items has no collisions), pointing into the ring.
 *
 * Lock-free for readers: a slot is a seqlock (a read that overlapped a
 * write, or whose bytes the ring has since overwritten, is a miss, never
 * a torn fragment); a writer that finds the slot being written skips the
 * put (it is only a cache). A slot left mid-write by a killed worker is
 * taken over by the next writer that finds its writer gone.
 *
 * Thread- and process-safe; lookups copy into the caller's arena.
 */
#ifndef CAT_FRAG_H
#define CAT_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "gw_arena.h"

/* Ring bytes per slot: 64 MiB (the default) has 131,072 slots, room for
 * ~200,000 items of ~330 B; 512 MiB ~1,000,000 items. */
#define CAT_FRAG_BYTES_PER_SLOT 512
#define CAT_FRAG_RING_MIN       (1 << 20) /* [catalog] fragment_cache_mb >= 1 */
/* A larger item is rendered every time. */
#define CAT_FRAG_BODY_MAX 4096

struct cat_frag_cache;

/* A new, empty cache of ring_bytes (at least CAT_FRAG_RING_MIN) in
 * shared anonymous memory (children forked after it share it); NULL when
 * it cannot be mapped. */
struct cat_frag_cache *cat_frag_new(size_t ring_bytes);

/* The cache's slots: ids this many apart share one. */
size_t cat_frag_slots(const struct cat_frag_cache *c);

/* Unmaps the cache (this process's mapping). */
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

/* Stores a copy of body for (id, version, gen), replacing the slot's;
 * skipped while another thread or worker writes that slot. A negative gen
 * (generation unknown), an empty or an oversized body stores nothing. c
 * may be NULL. */
void cat_frag_put(struct cat_frag_cache *c, int64_t id, int64_t version,
                  int64_t gen, const char *body, size_t len);

#endif /* CAT_FRAG_H */
