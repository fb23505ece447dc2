/*
 * store.c — the store's context, its time helpers and the entitlement
 * epoch (the invalidation of cached download targets, separate from the
 * catalog's generation so a refund does not flush catalog pages).
 *
 * The epoch lives in MariaDB: the sum of ent_epoch over the
 * STORE_EPOCH_BUCKETS rows of store_meta. A full refund bumps one row (by
 * its purchase id) in its transaction, so the sum grows with every
 * revocation while concurrent refunds seldom queue on one row lock (one
 * row made every full refund wait for the one before to commit: 0.98
 * lock waits and 78 ms of waiting per refund at 8 clients). Each host
 * keeps a copy in a shared mapping made before the master forks: the host
 * that refunded refreshes it right after its commit; others poll at most
 * every STORE_META_POLL_MS.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "gw_log.h"
#include "gw_status.h"
#include "gw_stmt.h"
#include "gw_util.h"
#include "store_internal.h"

struct store_epoch_shared {
    _Atomic int64_t epoch;
    _Atomic int64_t polled_ms;
};

static struct store_epoch_shared *store_epoch_shm;

void
store_ctx_init(struct store_ctx *ctx, struct gw_db *db, struct gw_arena *a,
               const struct gw_config *cfg, const char *actor, const char *rid)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->db = db;
    ctx->a = a;
    ctx->cfg = cfg;
    ctx->actor = actor;
    ctx->rid = rid;
}

int
store_refuse(struct store_ctx *ctx, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ctx->detail, sizeof(ctx->detail), fmt, ap);
    va_end(ap);
    return rc;
}

void
store_time_sql(int64_t ms, char out[32])
{
    time_t    t = (time_t) (ms / 1000);
    struct tm tm;
    size_t    n = strftime(out, 32, "%Y-%m-%d %H:%M:%S", &gmtime_r(&t, &tm)[0]);

    snprintf(out + n, 32 - n, ".%03d", (int) (ms % 1000));
}

void
store_time_rfc3339(int64_t ms, char out[32])
{
    gw_time_rfc3339(ms / 1000, out, 32);
}

int
store_init(void)
{
    void *p;

    if (store_epoch_shm != NULL) {
        return 0; /* SIGHUP re-runs the init chain: keep the mapping */
    }
    p = mmap(NULL, sizeof(*store_epoch_shm), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return -1;
    }
    store_epoch_shm = p;
    atomic_store(&store_epoch_shm->epoch, 0);
    atomic_store(&store_epoch_shm->polled_ms, 0);
    return 0;
}

static int
store_epoch_read(struct gw_db *db, struct gw_arena *a, int64_t *epoch)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_stmt_row(db, a, &row,
                     "SELECT CAST(SUM(ent_epoch) AS SIGNED) FROM store_meta",
                     GW_NOARGS);
    *epoch = rc == GW_OK && row != NULL ? gw_db_col_i64(row, 0) : 0;
    return rc;
}

static void
store_epoch_store_max(int64_t epoch)
{
    int64_t cur = atomic_load(&store_epoch_shm->epoch);

    while (epoch > cur
           && !atomic_compare_exchange_weak(&store_epoch_shm->epoch, &cur,
                                            epoch)) {
    }
}

int64_t
store_epoch_get(struct gw_db *db, struct gw_arena *a)
{
    int64_t now = gw_now_ms(), last, epoch = 0;

    if (store_epoch_shm == NULL) {
        return store_epoch_read(db, a, &epoch) == GW_OK && epoch > 0 ? epoch
                                                                     : -1;
    }
    last = atomic_load(&store_epoch_shm->polled_ms);
    if (now - last >= STORE_META_POLL_MS
        && atomic_compare_exchange_strong(&store_epoch_shm->polled_ms, &last,
                                          now)
        && store_epoch_read(db, a, &epoch) == GW_OK) {
        store_epoch_store_max(epoch);
    }
    epoch = atomic_load(&store_epoch_shm->epoch);
    return epoch > 0 ? epoch : -1; /* -1: never read: do not cache */
}

void
store_epoch_refresh(struct gw_db *db, struct gw_arena *a)
{
    int64_t epoch;

    if (store_epoch_shm != NULL && store_epoch_read(db, a, &epoch) == GW_OK) {
        atomic_store(&store_epoch_shm->polled_ms, gw_now_ms());
        store_epoch_store_max(epoch);
    }
}

int
store_epoch_bump(struct gw_db *db, int64_t key)
{
    int64_t id = 1 + (int64_t) ((uint64_t) key % STORE_EPOCH_BUCKETS);
    int     rc;

    rc = gw_stmt_exec(db,
                      "UPDATE store_meta SET ent_epoch = ent_epoch + 1,"
                      " updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
                      GW_ARGS(GW_I64(id)));
    if (rc == GW_OK && db->affected != 1) {
        gw_log_error(db->rid, "store_meta row %lld missing (migration 018)",
                     (long long) id);
        rc = GW_ERROR; /* a revocation no cache would see */
    }
    return rc;
}
