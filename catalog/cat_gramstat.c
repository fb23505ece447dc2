/*
 * cat_gramstat.c — per-process cache of each search gram's estimated
 * postings (cat_internal.h). A search orders its grams by these estimates
 * (the rarest is walked, the others probed rarest first); without the
 * cache every Latin or multi-word search asked MariaDB for them (one more
 * statement per request). The estimates are InnoDB's (two B-tree dives per
 * gram) and only choose the walk: an old one costs reads, never matches.
 * Direct-mapped, CAT_GRAMSTAT_SLOTS entries under 64 locks; the master
 * never searches, so a forked worker starts empty.
 */
#include <pthread.h>
#include <string.h>

#include "cat_internal.h"
#include "gw_util.h"

#define CAT_GRAMSTAT_LOCKS 64

struct cat_gramstat_slot {
    char    gram[CAT_GRAM_BYTES_MAX]; /* "" when empty */
    int64_t est;
    int64_t stored_ms;
};

static struct cat_gramstat_slot cat_gramstat_slots[CAT_GRAMSTAT_SLOTS];
static pthread_mutex_t          cat_gramstat_locks[CAT_GRAMSTAT_LOCKS];
static pthread_once_t           cat_gramstat_once = PTHREAD_ONCE_INIT;

static void
cat_gramstat_init(void)
{
    size_t i;

    for (i = 0; i < CAT_GRAMSTAT_LOCKS; i++) {
        pthread_mutex_init(&cat_gramstat_locks[i], NULL);
    }
}

/* The lock of slot k (initialised on first use). */
static pthread_mutex_t *
cat_gramstat_lock(size_t k)
{
    pthread_once(&cat_gramstat_once, cat_gramstat_init);
    return &cat_gramstat_locks[k % CAT_GRAMSTAT_LOCKS];
}

/* FNV-1a of the gram's bytes. */
static size_t
cat_gramstat_index(const char *gram)
{
    return gw_hash_str(gram) % CAT_GRAMSTAT_SLOTS;
}

int
cat_gramstat_get(const char *gram, int64_t *est)
{
    size_t                    k = cat_gramstat_index(gram);
    struct cat_gramstat_slot *s = &cat_gramstat_slots[k];
    int                       hit;

    pthread_mutex_lock(cat_gramstat_lock(k));
    hit = strcmp(s->gram, gram) == 0 && s->gram[0] != '\0'
        && gw_now_ms() - s->stored_ms < CAT_GRAMSTAT_TTL_MS;
    if (hit) {
        *est = s->est;
    }
    pthread_mutex_unlock(cat_gramstat_lock(k));
    return hit;
}

void
cat_gramstat_put(const char *gram, int64_t est)
{
    size_t                    k = cat_gramstat_index(gram);
    struct cat_gramstat_slot *s = &cat_gramstat_slots[k];
    size_t                    len = strlen(gram);

    if (len == 0 || len >= CAT_GRAM_BYTES_MAX) {
        return;
    }
    pthread_mutex_lock(cat_gramstat_lock(k));
    memcpy(s->gram, gram, len + 1);
    s->est = est;
    s->stored_ms = gw_now_ms();
    pthread_mutex_unlock(cat_gramstat_lock(k));
}
