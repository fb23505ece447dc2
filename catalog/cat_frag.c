/*
 * cat_frag.c — the host's cache of rendered item fragments (cat_frag.h).
 *
 * Readers never lock or write: a slot is a seqlock (Linux's seqcount, the
 * reader retries nothing — a miss reads the item from MariaDB instead),
 * and the ring's head tells whether a body's bytes were overwritten while
 * they were copied: reservations advance the head before their bytes are
 * written, so bytes at ring position off are intact while head <= off +
 * the ring's size. The copy that raced a writer is thrown away.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cat_frag_internal.h"

#define CAT_FRAG_LINE_BYTES 64 /* a CPU cache line (x86-64, most arm64) */

/* Where the slots start in the mapping: after the header, a line apart. */
#define CAT_FRAG_SLOTS_AT                                                      \
    ((sizeof(struct cat_frag_cache) + CAT_FRAG_LINE_BYTES - 1)                 \
     / CAT_FRAG_LINE_BYTES * CAT_FRAG_LINE_BYTES)

struct cat_frag_cache *
cat_frag_new(size_t ring_bytes)
{
    size_t                 nslots, size;
    void                  *p;
    struct cat_frag_cache *c;

    if (ring_bytes < CAT_FRAG_RING_MIN) {
        return NULL;
    }
    nslots = ring_bytes / CAT_FRAG_BYTES_PER_SLOT;
    size =
        CAT_FRAG_SLOTS_AT + nslots * sizeof(struct cat_frag_slot) + ring_bytes;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    /* Zero-filled and touched page by page as slots and ring fill. */
    c = p;
    c->nslots = nslots;
    c->ring_bytes = ring_bytes;
    c->map_bytes = size;
    c->slots = (struct cat_frag_slot *) ((char *) p + CAT_FRAG_SLOTS_AT);
    c->ring = (char *) (c->slots + nslots);
    return c;
}

size_t
cat_frag_slots(const struct cat_frag_cache *c)
{
    return c != NULL ? c->nslots : 0;
}

void
cat_frag_free(struct cat_frag_cache *c)
{
    if (c != NULL) {
        munmap(c, c->map_bytes);
    }
}

static struct cat_frag_slot *
cat_frag_slot(struct cat_frag_cache *c, int64_t id)
{
    return &c->slots[(uint64_t) id % c->nslots];
}

/* Copies n ring bytes from position off into dst (the ring wraps). */
static void
cat_frag_ring_read(const struct cat_frag_cache *c, uint64_t off, char *dst,
                   size_t n)
{
    size_t at = (size_t) (off % c->ring_bytes);
    size_t first = n < c->ring_bytes - at ? n : c->ring_bytes - at;

    memcpy(dst, c->ring + at, first);
    memcpy(dst + first, c->ring, n - first);
}

static void
cat_frag_ring_write(struct cat_frag_cache *c, uint64_t off, const char *src,
                    size_t n)
{
    size_t at = (size_t) (off % c->ring_bytes);
    size_t first = n < c->ring_bytes - at ? n : c->ring_bytes - at;

    memcpy(c->ring + at, src, first);
    memcpy(c->ring, src + first, n - first);
}

void
cat_frag_prefetch(struct cat_frag_cache *c, const int64_t *ids, size_t n)
{
    size_t k, o;

    if (c == NULL) {
        return;
    }
    for (k = 0; k < n; k++) { /* the slots: an address, nothing read yet */
        __builtin_prefetch(cat_frag_slot(c, ids[k]));
    }
    for (k = 0; k < n; k++) { /* then each slot's body, line by line */
        const struct cat_frag_slot *s = cat_frag_slot(c, ids[k]);
        uint64_t off = __atomic_load_n(&s->off, __ATOMIC_RELAXED);
        uint32_t len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);

        /* Prefetching only a body's first line left ~40% of the gain:
         * the copy then waited for the rest. A racing write makes these
         * addresses stale, never outside the ring. */
        for (o = 0; len <= CAT_FRAG_BODY_MAX && o < len;
             o += CAT_FRAG_LINE_BYTES) {
            __builtin_prefetch(c->ring + (off + o) % c->ring_bytes);
        }
    }
}

int
cat_frag_get(struct cat_frag_cache *c, int64_t id, int64_t version, int64_t gen,
             struct gw_arena *a, const char **body, size_t *len)
{
    struct cat_frag_slot *s;
    uint64_t              w, off;
    uint32_t              n;
    char                 *copy;

    if (c == NULL || gen < 0) {
        return 0;
    }
    s = cat_frag_slot(c, id);
    w = __atomic_load_n(&s->word, __ATOMIC_ACQUIRE);
    if (CAT_FRAG_SEQ(w) & 1) {
        return 0; /* being written */
    }
    if (__atomic_load_n(&s->id, __ATOMIC_RELAXED) != id
        || __atomic_load_n(&s->version, __ATOMIC_RELAXED) != version
        || __atomic_load_n(&s->gen, __ATOMIC_RELAXED) != gen) {
        return 0;
    }
    off = __atomic_load_n(&s->off, __ATOMIC_RELAXED);
    n = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&s->word, __ATOMIC_RELAXED) != w || n == 0
        || n > CAT_FRAG_BODY_MAX) {
        return 0; /* the fields above may be torn */
    }
    if ((copy = gw_arena_alloc(a, (size_t) n + 1)) == NULL) {
        return 0;
    }
    cat_frag_ring_read(c, off, copy, n);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&c->head, __ATOMIC_RELAXED) > off + c->ring_bytes) {
        return 0; /* overwritten by newer fragments, maybe while copied */
    }
    copy[n] = '\0';
    *body = copy;
    *len = n;
    return 1;
}

/* Locks slot s for this process: 1 when it is ours to write. A slot whose
 * writer is gone (a worker killed mid-write: its pid no longer exists) is
 * taken over; one being written by a live writer is left to it. */
static int
cat_frag_lock(struct cat_frag_slot *s, uint64_t *locked)
{
    uint64_t w = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
    pid_t    me = getpid();
    uint32_t seq = CAT_FRAG_SEQ(w);

    if (seq & 1) {
        pid_t writer = (pid_t) CAT_FRAG_WRITER(w);
        if (writer == me || writer == 0 || kill(writer, 0) == 0
            || errno != ESRCH) {
            return 0;
        }
        seq++; /* odd + 2 below: still odd, but not the dead writer's */
    }
    *locked = CAT_FRAG_WORD(me, seq + 1);
    if (!__atomic_compare_exchange_n(&s->word, &w, *locked, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        return 0;
    }
    /* The fields' stores below stay after the odd word (a reader that
     * sees any of them sees the slot as being written). */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    return 1;
}

void
cat_frag_put(struct cat_frag_cache *c, int64_t id, int64_t version, int64_t gen,
             const char *body, size_t len)
{
    struct cat_frag_slot *s;
    uint64_t              locked, off;

    if (c == NULL || gen < 0 || len == 0 || len > CAT_FRAG_BODY_MAX) {
        return;
    }
    s = cat_frag_slot(c, id);
    if (!cat_frag_lock(s, &locked)) {
        return;
    }
    off = __atomic_fetch_add(&c->head, (uint64_t) len, __ATOMIC_RELAXED);
    /* The reservation is visible before any of its bytes: a reader that
     * copied one of them sees the head past its own body's end. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    cat_frag_ring_write(c, off, body, len);
    __atomic_store_n(&s->id, id, __ATOMIC_RELAXED);
    __atomic_store_n(&s->version, version, __ATOMIC_RELAXED);
    __atomic_store_n(&s->gen, gen, __ATOMIC_RELAXED);
    __atomic_store_n(&s->off, off, __ATOMIC_RELAXED);
    __atomic_store_n(&s->len, (uint32_t) len, __ATOMIC_RELAXED);
    __atomic_store_n(&s->word, CAT_FRAG_WORD(0, CAT_FRAG_SEQ(locked) + 1),
                     __ATOMIC_RELEASE);
}
