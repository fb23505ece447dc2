/*
 * svc_janitor.c — the janitor role: housekeeping that must not run on the
 * request path. It expires stale holds (billing), folds new purchases into
 * item popularity (catalog) and prunes week-old idempotency records.
 */
#include "bill.h"
#include "cat.h"
#include "gw_db.h"
#include "gw_log.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"
#include "svc_janitor.h"

#define SVC_POPULARITY_EVERY_MS 2000 /* purchases folded into popularity */
/* Purchase ids per popularity transaction: halved after a failure or a
 * transaction longer than SVC_POPULARITY_TXN_MS, doubled after one under a
 * quarter of it. A batch may touch as many items as purchases, and each
 * item's UPDATE rewrites its sort-index entries and its ~20 search
 * postings' keys (migrations 021, 024, 027), random pages when the
 * postings do not fit in the buffer pool: 50,000 purchases of distinct
 * items at 1,000,000 items ran past the connection's 5 s read timeout, and
 * the rollback held the watermark's row lock for minutes, so every retry
 * failed too. */
#define SVC_POPULARITY_BATCH_MAX 2000
#define SVC_POPULARITY_BATCH_MIN 10
#define SVC_POPULARITY_TXN_MS    1000
#define SVC_POPULARITY_BUDGET_MS 1000 /* per tick, then holds again */
#define SVC_IDEM_SWEEP_EVERY_S   60

/* The next batch: half after a failure or a slow transaction, double after
 * a fast one, within SVC_POPULARITY_BATCH_MIN..MAX. */
static int64_t
svc_popularity_batch(int64_t batch, int ok, int64_t took_ms)
{
    if (!ok || took_ms > SVC_POPULARITY_TXN_MS) {
        batch /= 2;
    } else if (took_ms < SVC_POPULARITY_TXN_MS / 4) {
        batch *= 2;
    }
    return batch < SVC_POPULARITY_BATCH_MIN ? SVC_POPULARITY_BATCH_MIN
        : batch > SVC_POPULARITY_BATCH_MAX  ? SVC_POPULARITY_BATCH_MAX
                                            : batch;
}

/* Catches popularity up in bounded transactions for at most a budget. */
static void
svc_janitor_popularity(struct gw_thread *t, int64_t *batch)
{
    int64_t start = gw_now_ms(), folded, t0;

    do {
        t0 = gw_now_ms();
        if (cat_popularity_refresh(&t->db, &t->arena, *batch, &folded)
            != GW_OK) {
            *batch = svc_popularity_batch(*batch, 0, 0);
            gw_log_warn(NULL,
                        "popularity refresh failed; resuming at the"
                        " same mark with a smaller batch");
            return;
        }
        if (folded > 0) {
            *batch = svc_popularity_batch(*batch, 1, gw_now_ms() - t0);
        }
        gw_arena_reset(&t->arena);
    } while (folded > 0 && gw_now_ms() - start < SVC_POPULARITY_BUDGET_MS
             && !gw_role_stopping());
}

int
svc_janitor_run(struct gw_thread *t)
{
    struct bill_ctx ctx = {t->cfg, "janitor", "hold expired", NULL};
    int64_t         last_sweep = 0, last_popular = 0;
    int64_t         batch = SVC_POPULARITY_BATCH_MIN; /* grows while fast */

    while (!gw_role_stopping()) {
        if (bill_holds_expire(&t->db, &t->arena, &ctx, 100) < 0) {
            gw_log_warn(NULL, "hold expiry failed; retrying later");
        }
        if (gw_now_ms() - last_popular >= SVC_POPULARITY_EVERY_MS) {
            svc_janitor_popularity(t, &batch);
            last_popular = gw_now_ms();
        }
        if (gw_now_s() - last_sweep >= SVC_IDEM_SWEEP_EVERY_S) {
            /* Idempotency records are kept a week (Stripe keeps 24 h). */
            gw_db_exec(&t->db,
                       "DELETE FROM idempotency_keys WHERE"
                       " created_at < UTC_TIMESTAMP() - INTERVAL 7 DAY"
                       " LIMIT 1000");
            last_sweep = gw_now_s();
        }
        gw_arena_reset(&t->arena);
        gw_role_sleep_ms(t->cfg->janitor.interval_ms);
    }
    return 0;
}
