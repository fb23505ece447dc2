/*
 * cat_cache.c — per-process reply cache + per-host catalog generation.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <xxhash.h>

#include "cat.h"
#include "cat_cache.h"
#include "cat_internal.h"
#include "gw_metrics.h"
#include "gw_status.h"
#include "gw_util.h"

/* polled_ms, stored_ms and fill_ms are on CLOCK_MONOTONIC (cat_now_ms),
 * which every process of the host shares: a wall clock stepped back by N
 * seconds stopped the polls and kept every entry fresh for N seconds. */
struct cat_gen_shared {
    _Atomic int64_t gen;
    _Atomic int64_t polled_ms;
};

/*
 * Single flight: `filling` names the request that renders the slot's key
 * (fill_key, since fill_ms). Requests for that key wait on `done` (stale
 * ones are served the previous body instead) until cat_cache_put or
 * cat_cache_abandon, at most CAT_CACHE_WAIT_MS; a filler older than
 * CAT_CACHE_FILL_MAX_MS is presumed gone and replaced.
 */
struct cat_cache_slot {
    pthread_mutex_t lock;
    pthread_cond_t  done;
    int             filling;
    int64_t         fill_ms;
    char            fill_key[CAT_CACHE_KEY_MAX];
    char            key[CAT_CACHE_KEY_MAX];
    int64_t         gen;
    int64_t         stored_ms;
    char           *body; /* malloc'd, cap bytes; NULL: empty */
    size_t          len;
    size_t          cap;
    char            etag[CAT_ETAG_MAX];
};

static struct cat_gen_shared *cat_gen_shm;
static int                    cat_m_hit = -1, cat_m_stale = -1, cat_m_miss = -1;
static struct cat_cache_slot  cat_slots[CAT_CACHE_SLOTS];
static pthread_once_t         cat_slots_once = PTHREAD_ONCE_INIT;

static int64_t
cat_now_ms(void)
{
    return gw_mono_us() / 1000;
}

static void
cat_slots_init(void)
{
    size_t i;

    for (i = 0; i < CAT_CACHE_SLOTS; i++) {
        pthread_mutex_init(&cat_slots[i].lock, NULL);
        pthread_cond_init(&cat_slots[i].done, NULL);
    }
}

int
cat_cache_init(void)
{
    void *p;

    pthread_once(&cat_slots_once, cat_slots_init);
    if (cat_gen_shm != NULL) {
        return 0; /* SIGHUP re-runs the init chain: keep the mapping */
    }
    /* Hit rate = (hits + stale) / (hits + stale + misses). */
    cat_m_hit = gw_metrics_register("vasgw_catalog_cache_hits_total",
                                    "Catalog replies served fresh from the"
                                    " cache",
                                    GW_METRIC_COUNTER);
    cat_m_stale = gw_metrics_register("vasgw_catalog_cache_stale_total",
                                      "Catalog replies served from an expired"
                                      " entry while one request refreshes it",
                                      GW_METRIC_COUNTER);
    cat_m_miss = gw_metrics_register("vasgw_catalog_cache_misses_total",
                                     "Catalog replies rendered from MariaDB",
                                     GW_METRIC_COUNTER);
    cat_frag_metrics_init();
    p = mmap(NULL, sizeof(*cat_gen_shm), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return -1;
    }
    cat_gen_shm = p;
    atomic_store(&cat_gen_shm->gen, 0);
    atomic_store(&cat_gen_shm->polled_ms, 0);
    return 0;
}

static void
cat_gen_store_max(int64_t gen)
{
    int64_t cur = atomic_load(&cat_gen_shm->gen);

    while (gen > cur
           && !atomic_compare_exchange_weak(&cat_gen_shm->gen, &cur, gen)) {
    }
}

void
cat_cache_refresh(struct gw_db *db, struct gw_arena *a)
{
    int64_t gen;

    if (cat_gen_shm != NULL && cat_generation_get(db, a, &gen) == GW_OK) {
        atomic_store(&cat_gen_shm->polled_ms, cat_now_ms());
        cat_gen_store_max(gen);
    }
}

void
cat_cache_advance(int64_t gen)
{
    if (cat_gen_shm != NULL && gen > 0) {
        cat_gen_store_max(gen);
    }
}

int64_t
cat_cache_generation(struct gw_db *db, struct gw_arena *a)
{
    int64_t now = cat_now_ms(), last, gen = 0;

    if (cat_gen_shm == NULL) {
        return cat_generation_get(db, a, &gen) == GW_OK ? gen : -1;
    }
    last = atomic_load(&cat_gen_shm->polled_ms);
    if (now - last >= CAT_GEN_POLL_MS
        && atomic_compare_exchange_strong(&cat_gen_shm->polled_ms, &last,
                                          now)) {
        if (cat_generation_get(db, a, &gen) == GW_OK) {
            cat_gen_store_max(gen);
        }
    }
    gen = atomic_load(&cat_gen_shm->gen);
    return gen > 0 ? gen : -1; /* -1: never read: do not cache */
}

static struct cat_cache_slot *
cat_cache_slot(const char *key)
{
    pthread_once(&cat_slots_once, cat_slots_init);
    return &cat_slots[gw_hash_str(key) % CAT_CACHE_SLOTS];
}

int
cat_cache_get(const char *key, int64_t gen, struct gw_arena *a,
              const char **body, size_t *len, const char **etag)
{
    struct cat_cache_slot *s;
    int                    hit = 0;

    if (gen < 0 || strlen(key) >= CAT_CACHE_KEY_MAX) {
        return 0;
    }
    s = cat_cache_slot(key);
    pthread_mutex_lock(&s->lock);
    if (s->body != NULL && s->gen == gen && strcmp(s->key, key) == 0
        && cat_now_ms() - s->stored_ms < CAT_CACHE_TTL_MS) {
        char *b = gw_arena_strndup(a, s->body, s->len);
        char *e = gw_arena_strdup(a, s->etag);
        if (b != NULL && e != NULL) {
            *body = b;
            *len = s->len;
            *etag = e;
            hit = 1;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

/*
 * The slot's buffer takes the new body when it fits and is no more than
 * twice as big (so a slot does not keep one large page's memory for
 * small ones); otherwise a buffer of this body's size replaces it. A
 * list miss stores a 6.7 KB body: a malloc and a free of that size per
 * request were ~3% of a worker's user CPU on the list rows.
 */
static int
cat_cache_body_set(struct cat_cache_slot *s, const char *body, size_t len)
{
    if (s->body == NULL || len + 1 > s->cap || s->cap > 2 * (len + 1)) {
        free(s->body);
        s->cap = 0;
        if ((s->body = malloc(len + 1)) == NULL) {
            return -1;
        }
        s->cap = len + 1;
    }
    memcpy(s->body, body, len);
    s->body[len] = '\0';
    s->len = len;
    return 0;
}

void
cat_cache_put(const char *key, int64_t gen, const char *body, size_t len,
              const char *etag)
{
    struct cat_cache_slot *s;
    size_t                 klen = strlen(key);

    if (gen < 0 || klen >= CAT_CACHE_KEY_MAX || len > CAT_CACHE_BODY_MAX
        || strlen(etag) >= CAT_ETAG_MAX) {
        return;
    }
    s = cat_cache_slot(key);
    pthread_mutex_lock(&s->lock);
    if (cat_cache_body_set(s, body, len) == 0) {
        s->gen = gen;
        s->stored_ms = cat_now_ms();
        memcpy(s->key, key, klen + 1);
        memcpy(s->etag, etag, strlen(etag) + 1);
    }
    if (s->filling && strcmp(s->fill_key, key) == 0) {
        s->filling = 0;
        pthread_cond_broadcast(&s->done);
    }
    pthread_mutex_unlock(&s->lock);
}

void
cat_cache_abandon(const char *key)
{
    struct cat_cache_slot *s;

    if (strlen(key) >= CAT_CACHE_KEY_MAX) {
        return;
    }
    s = cat_cache_slot(key);
    pthread_mutex_lock(&s->lock);
    if (s->filling && strcmp(s->fill_key, key) == 0) {
        s->filling = 0;
        pthread_cond_broadcast(&s->done);
    }
    pthread_mutex_unlock(&s->lock);
}

/* Copies the slot's body into a (slot locked). 0 or -1. */
static int
cat_cache_copy(struct cat_cache_slot *s, struct gw_arena *a, const char **body,
               size_t *len, const char **etag)
{
    char *b = gw_arena_strndup(a, s->body, s->len);
    char *e = gw_arena_strdup(a, s->etag);

    if (b == NULL || e == NULL) {
        return -1;
    }
    *body = b;
    *len = s->len;
    *etag = e;
    return 0;
}

/* Waits (slot locked) until the key's filler is done or the wait is over;
 * 1 when the slot then holds key for gen. */
static int
cat_cache_wait(struct cat_cache_slot *s, const char *key, int64_t gen)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long) CAT_CACHE_WAIT_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (s->filling && strcmp(s->fill_key, key) == 0) {
        if (pthread_cond_timedwait(&s->done, &s->lock, &until) != 0) {
            break;
        }
    }
    return s->body != NULL && s->gen == gen && strcmp(s->key, key) == 0;
}

static void
cat_cache_count(int idx)
{
    if (idx >= 0) {
        gw_metrics_add(idx, 1);
    }
}

/* Makes the caller the key's filler (slot locked). */
static int
cat_cache_take(struct cat_cache_slot *s, const char *key, int64_t now)
{
    s->filling = 1;
    s->fill_ms = now;
    memcpy(s->fill_key, key, strlen(key) + 1);
    cat_cache_count(cat_m_miss);
    return CAT_CACHE_FILL;
}

int
cat_cache_lookup(const char *key, int64_t gen, struct gw_arena *a,
                 const char **body, size_t *len, const char **etag)
{
    struct cat_cache_slot *s;
    int64_t                now = cat_now_ms();
    int                    same, fresh, busy, rc;

    if (gen < 0 || strlen(key) >= CAT_CACHE_KEY_MAX) {
        cat_cache_count(cat_m_miss);
        return CAT_CACHE_MISS;
    }
    s = cat_cache_slot(key);
    pthread_mutex_lock(&s->lock);
    same = s->body != NULL && s->gen == gen && strcmp(s->key, key) == 0;
    fresh = same && now - s->stored_ms < CAT_CACHE_TTL_MS;
    busy = s->filling && now - s->fill_ms < CAT_CACHE_FILL_MAX_MS;
    if (fresh || (same && busy && strcmp(s->fill_key, key) == 0)) {
        rc = cat_cache_copy(s, a, body, len, etag) == 0
            ? (fresh ? CAT_CACHE_HIT : CAT_CACHE_STALE)
            : CAT_CACHE_MISS;
        cat_cache_count(rc == CAT_CACHE_HIT         ? cat_m_hit
                            : rc == CAT_CACHE_STALE ? cat_m_stale
                                                    : cat_m_miss);
    } else if (!busy) {
        rc = cat_cache_take(s, key, now); /* expired, changed or cold */
    } else if (strcmp(s->fill_key, key) == 0 && cat_cache_wait(s, key, gen)
               && cat_cache_copy(s, a, body, len, etag) == 0) {
        rc = CAT_CACHE_HIT; /* the filler's fresh body */
        cat_cache_count(cat_m_hit);
    } else {
        rc = CAT_CACHE_MISS; /* another key's filler, or it took too long */
        cat_cache_count(cat_m_miss);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/*
 * XXH3 (64 bits), not SHA-256: an ETag only has to change whenever the
 * body does (64 bits, as before: 16 hex digits). A forged collision could
 * at worst keep a client on its previous page, so a cryptographic digest
 * bought nothing: SHA-256 through EVP was ~12% of a worker's user CPU on
 * the uncached list rows (6.7 KB pages), XXH3 ~2%. Every worker and host
 * computes the same value for the same body (no seed), so a 304 can come
 * from any of them.
 */
void
cat_cache_etag(const char *body, size_t len, char out[CAT_ETAG_MAX])
{
    XXH64_canonical_t be; /* the hash's bytes, most significant first */

    XXH64_canonicalFromHash(&be, XXH3_64bits(body, len));
    out[0] = '"';
    gw_hex_encode(be.digest, sizeof(be.digest), out + 1);
    out[17] = '"';
    out[18] = '\0';
}
