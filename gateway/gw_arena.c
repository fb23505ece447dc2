/*
 * gw_arena.c — bump allocator with chunks; large requests get their own
 * chunk so one big body does not waste a whole standard chunk.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_arena.h"
#include "gw_limits.h"
#include "gw_util.h"

struct gw_arena_chunk {
    struct gw_arena_chunk *next;
    size_t                 size;
    size_t                 used;
    _Alignas(16) unsigned char data[];
};

static struct gw_arena_chunk *
gw_arena_chunk_new(size_t size)
{
    struct gw_arena_chunk *c;

    c = malloc(sizeof(*c) + size);
    if (c == NULL) {
        return NULL;
    }
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

/*
 * The first chunk is kept across resets and big enough for a 20-item
 * catalog page (18 KB; 24 KB when its items are read) and most other
 * requests, so they malloc nothing: with 16 KB a list miss allocated and
 * freed a second chunk every time. 256 threads hold 16 MB.
 */
int
gw_arena_init(struct gw_arena *a)
{
    a->ncleanups = 0;
    a->first = gw_arena_chunk_new(GW_ARENA_FIRST_BYTES);
    a->head = a->first;
    return a->first == NULL ? -1 : 0;
}

static void
gw_arena_run_cleanups(struct gw_arena *a)
{
    while (a->ncleanups > 0) {
        a->ncleanups--;
        a->cleanups[a->ncleanups].fn(a->cleanups[a->ncleanups].data);
    }
}

void
gw_arena_reset(struct gw_arena *a)
{
    struct gw_arena_chunk *c, *next;

    gw_arena_run_cleanups(a);
    for (c = a->head; c != NULL && c != a->first; c = next) {
        next = c->next;
        free(c);
    }
    a->head = a->first;
    if (a->first != NULL) {
        a->first->used = 0;
        a->first->next = NULL;
    }
}

void
gw_arena_fini(struct gw_arena *a)
{
    gw_arena_reset(a);
    free(a->first);
    a->first = a->head = NULL;
}

void *
gw_arena_alloc(struct gw_arena *a, size_t n)
{
    struct gw_arena_chunk *c;
    size_t                 need;

    need = (n + 15) & ~(size_t) 15;
    if (need < n) {
        return NULL;
    }
    c = a->head;
    if (c != NULL && c->size - c->used >= need) {
        void *p = c->data + c->used;
        c->used += need;
        return p;
    }
    c = gw_arena_chunk_new(need > GW_ARENA_CHUNK_BYTES ? need
                                                       : GW_ARENA_CHUNK_BYTES);
    if (c == NULL) {
        return NULL;
    }
    c->next = a->head;
    a->head = c;
    c->used = need;
    return c->data;
}

void *
gw_arena_calloc(struct gw_arena *a, size_t n)
{
    void *p = gw_arena_alloc(a, n);

    if (p != NULL) {
        memset(p, 0, n);
    }
    return p;
}

char *
gw_arena_strndup(struct gw_arena *a, const char *s, size_t len)
{
    char *p = gw_arena_alloc(a, len + 1);

    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

char *
gw_arena_strdup(struct gw_arena *a, const char *s)
{
    return gw_arena_strndup(a, s, strlen(s));
}

/*
 * Formats straight into the free space of the current chunk, and only
 * when it does not fit measures, allocates and formats again: one
 * vsnprintf instead of two for the keys and details most requests make.
 */
char *
gw_arena_vprintf(struct gw_arena *a, const char *fmt, va_list ap)
{
    struct gw_arena_chunk *c = a->head;
    size_t                 room = c != NULL ? c->size - c->used : 0;
    char                  *p = room > 0 ? (char *) c->data + c->used : NULL;
    va_list                ap2;
    int                    n;

    va_copy(ap2, ap);
    n = vsnprintf(p, room, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return NULL;
    }
    if ((size_t) n < room) {
        /* size and used are multiples of 16, so this stays in the chunk */
        c->used += ((size_t) n + 1 + 15) & ~(size_t) 15;
        return p;
    }
    p = gw_arena_alloc(a, (size_t) n + 1);
    if (p != NULL) {
        vsnprintf(p, (size_t) n + 1, fmt, ap);
    }
    return p;
}

char *
gw_arena_printf(struct gw_arena *a, const char *fmt, ...)
{
    va_list ap;
    char   *p;

    va_start(ap, fmt);
    p = gw_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

int
gw_arena_cleanup_add(struct gw_arena *a, gw_cleanup_pt fn, void *data)
{
    size_t max = sizeof(a->cleanups) / sizeof(a->cleanups[0]);

    if (a->ncleanups >= max) {
        fn(data);
        return -1;
    }
    a->cleanups[a->ncleanups].fn = fn;
    a->cleanups[a->ncleanups].data = data;
    a->ncleanups++;
    return 0;
}

static void
gw_arena_buf_free(void *b)
{
    gw_buf_free(b);
}

struct gw_buf *
gw_arena_buf_new(struct gw_arena *a)
{
    struct gw_buf *b = gw_arena_calloc(a, sizeof(*b));

    if (b == NULL || gw_arena_cleanup_add(a, gw_arena_buf_free, b) != 0) {
        return NULL;
    }
    return b;
}
