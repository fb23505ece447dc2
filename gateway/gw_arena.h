/*
 * gw_arena.h — per-request memory: a bump allocator plus a cleanup list.
 *
 * Everything a request acquires (strings, MariaDB results, Redis replies,
 * cJSON trees) is either allocated here or registered with
 * gw_arena_cleanup_add(), and released in one place by gw_arena_reset()
 * after the reply is written — also on every error path (nginx pool
 * cleanups are the model). An arena belongs to one thread; not thread-safe.
 */
#ifndef GW_ARENA_H
#define GW_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "gw_limits.h"

struct gw_arena_chunk;

typedef void (*gw_cleanup_pt)(void *data);

struct gw_arena {
    struct gw_arena_chunk *head;  /* current chunk */
    struct gw_arena_chunk *first; /* kept across resets */
    size_t                 ncleanups;
    struct {
        gw_cleanup_pt fn;
        void         *data;
    } cleanups[GW_ARENA_CLEANUPS_MAX];
};

/* Prepares an empty arena (allocates the first chunk). 0 or -1 (ENOMEM). */
int gw_arena_init(struct gw_arena *a);

/* Runs cleanups and frees every chunk. */
void gw_arena_fini(struct gw_arena *a);

/* Runs cleanups in reverse order, frees all but the first chunk. */
void gw_arena_reset(struct gw_arena *a);

/* n bytes, 16-aligned, valid until reset; NULL only when out of memory. */
void *gw_arena_alloc(struct gw_arena *a, size_t n);

/* Zeroed n bytes. */
void *gw_arena_calloc(struct gw_arena *a, size_t n);

/* Copies of s / of len bytes of s (NUL-terminated). */
char *gw_arena_strdup(struct gw_arena *a, const char *s);
char *gw_arena_strndup(struct gw_arena *a, const char *s, size_t len);

/* printf into the arena. */
char *gw_arena_printf(struct gw_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *gw_arena_vprintf(struct gw_arena *a, const char *fmt, va_list ap);

/*
 * Registers fn(data) to run at reset. When the list is full, fn runs at
 * once and -1 is returned (the caller must not use data afterwards).
 */
int gw_arena_cleanup_add(struct gw_arena *a, gw_cleanup_pt fn, void *data);

struct gw_buf;

/*
 * An empty growable buffer (gw_util.h) whose storage is freed at the
 * arena's reset. NULL when out of memory.
 */
struct gw_buf *gw_arena_buf_new(struct gw_arena *a);

#endif /* GW_ARENA_H */
