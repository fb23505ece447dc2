/*
 * cat_memo.c — what a worker remembers about the catalog (cat_internal.h):
 * each gram's estimated postings, the searches that matched no item and
 * each category slug's (id, kind). All three are direct-mapped tables of
 * (key, generation, value, time stored) whose entries hold for their
 * generation and die after a TTL, under one stripe of 64 locks; the
 * master never reads the catalog, so a forked worker starts empty.
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
 *
 * Category slugs (CAT_CATEGORY_SLOTS): a category page reads items'
 * (category_id, status, key, id) index from the cursor on. Turning the
 * slug into the id inside the page's statement (a join with categories,
 * read by the optimizer as a constant table) cost each page a unique-key
 * lookup and a second table in the plan: 0.12 against 0.08 ms of mariadbd
 * CPU for the 20-item id query at 100,000 items. Categories are never
 * renamed, re-kinded or deleted (a feed only adds them, cat_feed.c, and
 * bumps the catalog generation), so a slug's (id, kind) is read once per
 * process and generation, no TTL; a slug that is not found is not
 * remembered (the next import may add it).
 */
#include <pthread.h>
#include <string.h>

#include "cat_internal.h"
#include "gw_status.h"
#include "gw_util.h"

#define CAT_MEMO_LOCKS     64
#define CAT_CATEGORY_SLOTS 256

struct cat_memo {
    size_t   slots, key_max; /* key_max: bytes with the NUL */
    int64_t  ttl_ms;
    char    *keys; /* slots x key_max, "" when empty */
    int64_t *gens, *vals, *stored_ms;
};

/* One table's storage, static (zero: every slot empty). */
#define CAT_MEMO_TABLE(name, n, kmax)                                          \
    static char    name##_keys[n][kmax];                                       \
    static int64_t name##_gens[n], name##_vals[n], name##_times[n]

#define CAT_MEMO_OF(name, n, kmax, ttl)                                        \
    {                                                                          \
        (n), (kmax), (ttl), &name##_keys[0][0], name##_gens, name##_vals,      \
            name##_times                                                       \
    }

CAT_MEMO_TABLE(cat_gram, CAT_GRAMSTAT_SLOTS, CAT_GRAM_BYTES_MAX);
CAT_MEMO_TABLE(cat_nomatch, CAT_NOMATCH_SLOTS, CAT_NOMATCH_KEY_MAX);
CAT_MEMO_TABLE(cat_category, CAT_CATEGORY_SLOTS, CAT_SLUG_MAX + 1);

static struct cat_memo cat_memo_grams = CAT_MEMO_OF(
    cat_gram, CAT_GRAMSTAT_SLOTS, CAT_GRAM_BYTES_MAX, CAT_GRAMSTAT_TTL_MS);
static struct cat_memo cat_memo_nomatch = CAT_MEMO_OF(
    cat_nomatch, CAT_NOMATCH_SLOTS, CAT_NOMATCH_KEY_MAX, CAT_NOMATCH_TTL_MS);
static struct cat_memo cat_memo_categories =
    CAT_MEMO_OF(cat_category, CAT_CATEGORY_SLOTS, CAT_SLUG_MAX + 1, INT64_MAX);

/* A category's kind is stored as its index here (schema: ENUM). */
static const char *const cat_category_kinds[] = {"ringtone", "game"};

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

/* 1 and *val when key was stored for gen within the TTL, else 0. */
static int
cat_memo_get(const struct cat_memo *m, const char *key, int64_t gen,
             int64_t *val)
{
    pthread_mutex_t *lk;
    size_t           k = cat_memo_slot(m, key, &lk);
    int              hit;

    if (k == (size_t) -1) {
        return 0;
    }
    pthread_mutex_lock(lk);
    hit = strcmp(m->keys + k * m->key_max, key) == 0 && m->gens[k] == gen
        && gw_now_ms() - m->stored_ms[k] < m->ttl_ms;
    if (hit) {
        *val = m->vals[k];
    }
    pthread_mutex_unlock(lk);
    return hit;
}

/* Stores (key, gen, val), replacing the slot's entry. */
static void
cat_memo_put(struct cat_memo *m, const char *key, int64_t gen, int64_t val)
{
    pthread_mutex_t *lk;
    size_t           k = cat_memo_slot(m, key, &lk);

    if (k == (size_t) -1) {
        return;
    }
    pthread_mutex_lock(lk);
    memcpy(m->keys + k * m->key_max, key, strlen(key) + 1);
    m->gens[k] = gen;
    m->vals[k] = val;
    m->stored_ms[k] = gw_now_ms();
    pthread_mutex_unlock(lk);
}

int
cat_gramstat_get(const char *gram, int64_t *est)
{
    return cat_memo_get(&cat_memo_grams, gram, 0, est);
}

void
cat_gramstat_put(const char *gram, int64_t est)
{
    cat_memo_put(&cat_memo_grams, gram, 0, est);
}

int
cat_nomatch_get(const char *key, int64_t gen)
{
    int64_t unused;

    return gen >= 0 && cat_memo_get(&cat_memo_nomatch, key, gen, &unused);
}

void
cat_nomatch_put(const char *key, int64_t gen)
{
    if (gen >= 0) {
        cat_memo_put(&cat_memo_nomatch, key, gen, 0);
    }
}

/* The kind's index in cat_category_kinds, or -1. */
static int64_t
cat_category_kind_index(const char *kind)
{
    size_t i;

    for (i = 0; i < sizeof(cat_category_kinds) / sizeof(*cat_category_kinds);
         i++) {
        if (strcmp(kind, cat_category_kinds[i]) == 0) {
            return (int64_t) i;
        }
    }
    return -1;
}

/* (id, kind) of slug remembered for gen: 1, else 0. val = id * 4 + kind. */
static int
cat_category_get(const char *slug, int64_t gen, int64_t *id,
                 char kind[CAT_CATEGORY_KIND_MAX])
{
    int64_t val;

    if (!cat_memo_get(&cat_memo_categories, slug, gen, &val)) {
        return 0;
    }
    *id = val / 4;
    memcpy(kind, cat_category_kinds[val % 4],
           strlen(cat_category_kinds[val % 4]) + 1);
    return 1;
}

int
cat_category_find(struct gw_db *db, struct gw_arena *a, const char *slug,
                  int64_t gen, int64_t *id, char kind[CAT_CATEGORY_KIND_MAX])
{
    MYSQL_ROW row;
    int64_t   k;
    int       rc;

    *id = 0;
    kind[0] = '\0';
    if (strlen(slug) > CAT_SLUG_MAX) {
        return GW_OK; /* no such category (the handler refuses these) */
    }
    if (gen > 0 && cat_category_get(slug, gen, id, kind)) {
        return GW_OK;
    }
    rc = gw_db_row(db, a, &row,
                   "SELECT id, kind FROM categories WHERE slug = %s", slug);
    if (rc != GW_OK || row == NULL) {
        return rc;
    }
    if (strlen(row[1]) >= CAT_CATEGORY_KIND_MAX) {
        return GW_ERROR; /* an enum of the schema: cannot happen */
    }
    *id = gw_db_col_i64(row, 0);
    memcpy(kind, row[1], strlen(row[1]) + 1);
    k = cat_category_kind_index(kind);
    if (gen > 0 && k >= 0 && *id > 0 && *id < INT64_MAX / 4) {
        cat_memo_put(&cat_memo_categories, slug, gen, *id * 4 + k);
    }
    return GW_OK;
}
