/*
 * cat_nomatch.c — per-process memory of searches that matched no item
 * (cat_internal.h). A search whose grams are all common but never occur
 * together ("moon song", or "wintar": every trigram is in some word) reads
 * its rarest gram's postings to the end to find nothing: tens of thousands
 * of index entries at 1,000,000 items. Matches change only with the
 * catalog, and every catalog change bumps the generation, so "no match at
 * generation gen" holds for any page, sort and limit of that search until
 * the generation moves; CAT_NOMATCH_TTL_MS bounds it for writes that do
 * not bump it. Direct-mapped, CAT_NOMATCH_SLOTS keys of at most
 * CAT_NOMATCH_KEY_MAX bytes (longer ones are not remembered), 64 locks.
 */
#include <pthread.h>
#include <string.h>

#include "cat_internal.h"
#include "gw_util.h"

#define CAT_NOMATCH_LOCKS 64

struct cat_nomatch_slot {
    char    key[CAT_NOMATCH_KEY_MAX]; /* "" when empty */
    int64_t gen;
    int64_t stored_ms;
};

static struct cat_nomatch_slot cat_nomatch_slots[CAT_NOMATCH_SLOTS];
static pthread_mutex_t         cat_nomatch_locks[CAT_NOMATCH_LOCKS];
static pthread_once_t          cat_nomatch_once = PTHREAD_ONCE_INIT;

static void
cat_nomatch_init(void)
{
    size_t i;

    for (i = 0; i < CAT_NOMATCH_LOCKS; i++) {
        pthread_mutex_init(&cat_nomatch_locks[i], NULL);
    }
}

/* The slot of key (FNV-1a) and its lock (initialised on first use). */
static size_t
cat_nomatch_index(const char *key, pthread_mutex_t **lock)
{
    uint64_t h = gw_hash_str(key);

    pthread_once(&cat_nomatch_once, cat_nomatch_init);
    *lock = &cat_nomatch_locks[h % CAT_NOMATCH_LOCKS];
    return h % CAT_NOMATCH_SLOTS;
}

int
cat_nomatch_get(const char *key, int64_t gen)
{
    pthread_mutex_t         *lock;
    struct cat_nomatch_slot *s =
        &cat_nomatch_slots[cat_nomatch_index(key, &lock)];
    int hit;

    if (gen < 0 || strlen(key) >= CAT_NOMATCH_KEY_MAX) {
        return 0;
    }
    pthread_mutex_lock(lock);
    hit = s->key[0] != '\0' && s->gen == gen && strcmp(s->key, key) == 0
        && gw_now_ms() - s->stored_ms < CAT_NOMATCH_TTL_MS;
    pthread_mutex_unlock(lock);
    return hit;
}

void
cat_nomatch_put(const char *key, int64_t gen)
{
    pthread_mutex_t         *lock;
    struct cat_nomatch_slot *s =
        &cat_nomatch_slots[cat_nomatch_index(key, &lock)];
    size_t len = strlen(key);

    if (gen < 0 || len == 0 || len >= CAT_NOMATCH_KEY_MAX) {
        return;
    }
    pthread_mutex_lock(lock);
    memcpy(s->key, key, len + 1);
    s->gen = gen;
    s->stored_ms = gw_now_ms();
    pthread_mutex_unlock(lock);
}
