/*
 * cat_cache.c — per-process reply cache + per-host catalog generation.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cat.h"
#include "cat_cache.h"
#include "gw_status.h"
#include "gw_util.h"

struct cat_gen_shared {
    _Atomic int64_t gen;
    _Atomic int64_t polled_ms;
};

struct cat_cache_slot {
    pthread_mutex_t lock;
    char            key[CAT_CACHE_KEY_MAX];
    int64_t         gen;
    int64_t         stored_ms;
    char           *body;
    size_t          len;
    char            etag[CAT_ETAG_MAX];
};

static struct cat_gen_shared *cat_gen_shm;
static struct cat_cache_slot  cat_slots[CAT_CACHE_SLOTS];
static pthread_once_t         cat_slots_once = PTHREAD_ONCE_INIT;

static void
cat_slots_init(void)
{
    size_t i;

    for (i = 0; i < CAT_CACHE_SLOTS; i++) {
        pthread_mutex_init(&cat_slots[i].lock, NULL);
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
        atomic_store(&cat_gen_shm->polled_ms, gw_now_ms());
        cat_gen_store_max(gen);
    }
}

int64_t
cat_cache_generation(struct gw_db *db, struct gw_arena *a)
{
    int64_t now = gw_now_ms(), last, gen = 0;

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
    uint64_t h = 1469598103934665603ULL;

    for (; *key != '\0'; key++) {
        h = (h ^ (unsigned char) *key) * 1099511628211ULL;
    }
    pthread_once(&cat_slots_once, cat_slots_init);
    return &cat_slots[h % CAT_CACHE_SLOTS];
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
        && gw_now_ms() - s->stored_ms < CAT_CACHE_TTL_MS) {
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

void
cat_cache_put(const char *key, int64_t gen, const char *body, size_t len,
              const char *etag)
{
    struct cat_cache_slot *s;
    char                  *copy;
    size_t                 klen = strlen(key);

    if (gen < 0 || klen >= CAT_CACHE_KEY_MAX || len > CAT_CACHE_BODY_MAX
        || strlen(etag) >= CAT_ETAG_MAX || (copy = malloc(len + 1)) == NULL) {
        return;
    }
    memcpy(copy, body, len);
    copy[len] = '\0';
    s = cat_cache_slot(key);
    pthread_mutex_lock(&s->lock);
    free(s->body);
    s->body = copy;
    s->len = len;
    s->gen = gen;
    s->stored_ms = gw_now_ms();
    memcpy(s->key, key, klen + 1);
    memcpy(s->etag, etag, strlen(etag) + 1);
    pthread_mutex_unlock(&s->lock);
}

void
cat_cache_etag(const char *body, size_t len, char out[CAT_ETAG_MAX])
{
    char hex[65];

    gw_sha256_hex(body, len, hex);
    out[0] = '"';
    memcpy(out + 1, hex, 16);
    out[17] = '"';
    out[18] = '\0';
}
