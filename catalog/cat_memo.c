/*
 * cat_memo.c — what a worker remembers about searches (cat_internal.h):
 * each gram's estimated postings and the searches that matched no item.
 * Both are direct-mapped tables of (key, value, time stored) whose entries
 * die after a TTL, under one stripe of 64 locks; the master never
 * searches, so a forked worker starts empty.
 *
 * Gram estimates (CAT_GRAMSTAT_SLOTS): a search orders its grams by them
 * (the rarest is walked, the others probed rarest first); without them
 * every Latin or multi-word search asked MariaDB (one more statement per
 * request). They are InnoDB's (two B-tree dives per gram) and only choose
 * the walk: an old one costs reads, never matches.
 *
 * No-match searches (CAT_NOMATCH_SLOTS): a search whose grams are all
 * common but never occur together ("moon song", or "wintar": every
 * trigram is in some word) reads its rarest gram's postings to the end to
 * find nothing: tens of thousands of index entries at 1,000,000 items.
 * Matches change only with the catalog, and every catalog change bumps
 * the generation, so "no match at generation gen" holds for any page,
 * sort and limit of that search until the generation moves;
 * CAT_NOMATCH_TTL_MS bounds it for writes that do not bump it. Keys of
 * CAT_NOMATCH_KEY_MAX bytes or more are not remembered.
 */
#include <pthread.h>
#include <string.h>

#include "cat_internal.h"
#include "gw_util.h"

#define CAT_MEMO_LOCKS 64

struct cat_memo {
    size_t   slots, key_max; /* key_max: bytes with the NUL */
    int64_t  ttl_ms;
    char    *keys; /* slots x key_max, "" when empty */
    int64_t *vals, *stored_ms;
};

static char    cat_gram_keys[CAT_GRAMSTAT_SLOTS][CAT_GRAM_BYTES_MAX];
static int64_t cat_gram_vals[CAT_GRAMSTAT_SLOTS];
static int64_t cat_gram_times[CAT_GRAMSTAT_SLOTS];
static char    cat_nomatch_keys[CAT_NOMATCH_SLOTS][CAT_NOMATCH_KEY_MAX];
static int64_t cat_nomatch_vals[CAT_NOMATCH_SLOTS];
static int64_t cat_nomatch_times[CAT_NOMATCH_SLOTS];

static struct cat_memo cat_memo_grams = {
    CAT_GRAMSTAT_SLOTS,   CAT_GRAM_BYTES_MAX, CAT_GRAMSTAT_TTL_MS,
    &cat_gram_keys[0][0], cat_gram_vals,      cat_gram_times};
static struct cat_memo cat_memo_nomatch = {
    CAT_NOMATCH_SLOTS,       CAT_NOMATCH_KEY_MAX, CAT_NOMATCH_TTL_MS,
    &cat_nomatch_keys[0][0], cat_nomatch_vals,    cat_nomatch_times};

static pthread_mutex_t cat_memo_locks[CAT_MEMO_LOCKS];
static pthread_once_t  cat_memo_once = PTHREAD_ONCE_INIT;

static void
cat_memo_init(void)
{
    size_t i;

    for (i = 0; i < CAT_MEMO_LOCKS; i++) {
        pthread_mutex_init(&cat_memo_locks[i], NULL);
    }
}

/* The slot of key and its lock; (size_t) -1 when key cannot be kept. */
static size_t
cat_memo_slot(const struct cat_memo *m, const char *key, pthread_mutex_t **lk)
{
    uint64_t h;
    size_t   len = strlen(key);

    if (len == 0 || len >= m->key_max) {
        return (size_t) -1;
    }
    h = gw_hash_str(key);
    pthread_once(&cat_memo_once, cat_memo_init);
    *lk = &cat_memo_locks[h % CAT_MEMO_LOCKS];
    return h % m->slots;
}

/* 1 and *val when key was stored within the TTL, else 0. */
static int
cat_memo_get(const struct cat_memo *m, const char *key, int64_t *val)
{
    pthread_mutex_t *lk;
    size_t           k = cat_memo_slot(m, key, &lk);
    int              hit;

    if (k == (size_t) -1) {
        return 0;
    }
    pthread_mutex_lock(lk);
    hit = strcmp(m->keys + k * m->key_max, key) == 0
        && gw_now_ms() - m->stored_ms[k] < m->ttl_ms;
    if (hit) {
        *val = m->vals[k];
    }
    pthread_mutex_unlock(lk);
    return hit;
}

/* Stores (key, val), replacing the slot's entry. */
static void
cat_memo_put(struct cat_memo *m, const char *key, int64_t val)
{
    pthread_mutex_t *lk;
    size_t           k = cat_memo_slot(m, key, &lk);

    if (k == (size_t) -1) {
        return;
    }
    pthread_mutex_lock(lk);
    memcpy(m->keys + k * m->key_max, key, strlen(key) + 1);
    m->vals[k] = val;
    m->stored_ms[k] = gw_now_ms();
    pthread_mutex_unlock(lk);
}

int
cat_gramstat_get(const char *gram, int64_t *est)
{
    return cat_memo_get(&cat_memo_grams, gram, est);
}

void
cat_gramstat_put(const char *gram, int64_t est)
{
    cat_memo_put(&cat_memo_grams, gram, est);
}

int
cat_nomatch_get(const char *key, int64_t gen)
{
    int64_t stored;

    return gen >= 0 && cat_memo_get(&cat_memo_nomatch, key, &stored)
        && stored == gen;
}

void
cat_nomatch_put(const char *key, int64_t gen)
{
    if (gen >= 0) {
        cat_memo_put(&cat_memo_nomatch, key, gen);
    }
}
