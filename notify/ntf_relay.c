/*
 * ntf_relay.c — the relay role (outbox → Redis) and its metrics.
 *
 * The queue: outbox rows are the permanent record (audit, the inbox
 * fallback) and are never updated; a trigger adds each new row's id to the
 * narrow outbox_pending table (migration 007) in the writer's transaction,
 * and the relay deletes the ids it delivered, one statement per batch.
 * Measured: marking 100,000 rows delivered with an UPDATE of
 * outbox.delivered_at cost ~20 µs a row (it moves the (delivered_at, id)
 * index entry); deleting a primary-key-only row costs a fraction of that.
 *
 * Why READ COMMITTED for the claim: under REPEATABLE READ a locking read
 * takes next-key (gap) locks, which would make every purchase inserting a
 * new outbox row wait for the relay's Redis round trip. READ COMMITTED
 * locks only the rows claimed; SKIP LOCKED skips rows another relay holds
 * and rows whose inserting transaction has not committed yet.
 *
 * Where a claim starts: ORDER BY id from the start of outbox_pending walks
 * over every entry deleted but not yet purged by InnoDB (a drain deletes
 * faster than purge removes; measured: a claim of 2,000 rows behind 90,000
 * deleted entries took 62-140 ms against 10-20 ms) and over the entries
 * other loops hold. So a claim starts at a hint, the highest id claimed in
 * this process + 1 (ntf_relay_from), and only every NTF_RELAY_RESCAN_EVERY
 * batches of a loop, or after a claim that found less than a full batch
 * (the end of the backlog), from the start. The hint only decides where
 * the scan starts; rows are still claimed and deleted one by one. A row the
 * hint passed over (held by another relay, committed late with a lower
 * auto-increment id, or waiting for its retry time) is found by the next
 * scan from the start: a few batches later, never skipped for good.
 *
 * Why JSON_TABLE for the deletes: the SQL formatter only accepts quoted
 * literals and integers, so the claimed ids travel as one JSON array
 * literal, joined on the primary key (one statement per batch). The join
 * is forced (JSON_TABLE first, then the primary key): on a small queue the
 * optimizer scanned outbox_pending instead, and that locking scan waited
 * on rows held by another loop (itself waiting for ntf_relay_flight) or by
 * an uncommitted purchase, until the client's read timeout rolled the
 * batch back and it was sent twice.
 */
#include <pthread.h>
#include <string.h>

#include "gw_backoff.h"
#include "gw_db.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_redis.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "ntf_relay.h"
#include "ntf_webhook.h"
#include "ntf_wire.h"

static struct {
    int backlog, oldest_age_s, delivered, failed, batches;
} ntf_relay_m = {-1, -1, -1, -1, -1};

/* Highest outbox_pending id claimed by a loop of this process, + 1. */
static int64_t ntf_relay_from;

/*
 * Held from sending a batch to Redis until its COMMIT: the loops of a
 * process overlap claims and pipeline building with another loop's Redis
 * round trip, but only one batch is ever sent and not yet committed, so a
 * relay killed with kill -9 re-sends at most relay.batch notifications,
 * however many loops it runs.
 */
static pthread_mutex_t ntf_relay_flight = PTHREAD_MUTEX_INITIALIZER;

struct ntf_relay_row {
    int64_t         id;
    struct ntf_item it;
    int             sent; /* its commands are in the pipeline */
    int             ok;   /* Redis accepted them all */
};

int
ntf_relay_metrics_register(void)
{
    enum gw_metric_type C = GW_METRIC_COUNTER, G = GW_METRIC_GAUGE;

    ntf_relay_m.backlog = gw_metrics_register(
        "vasgw_outbox_backlog", "Outbox rows not yet relayed to Redis", G);
    ntf_relay_m.oldest_age_s =
        gw_metrics_register("vasgw_outbox_oldest_age_seconds",
                            "Age of the oldest undelivered outbox row", G);
    ntf_relay_m.delivered = gw_metrics_register(
        "vasgw_notify_delivered_total", "Notifications relayed to Redis", C);
    ntf_relay_m.failed = gw_metrics_register(
        "vasgw_notify_failed_total",
        "Notifications whose relay attempt failed (sent again later)", C);
    ntf_relay_m.batches = gw_metrics_register("vasgw_notify_batches_total",
                                              "Relay batches committed", C);
    return ntf_relay_m.batches < 0 ? -1 : 0;
}

int
ntf_relay_group_ensure(struct gw_redis *r, const char *group,
                       const char *start_id)
{
    redisReply *rep;
    int         rc;

    /* hiredis directly: BUSYGROUP is the normal answer, not worth a log. */
    rc = gw_redis_connect(r);
    if (rc != GW_OK) {
        return rc;
    }
    rep = redisCommand(r->ctx, "XGROUP CREATE %s %s %s MKSTREAM",
                       r->cfg->redis.notify_stream, group, start_id);
    if (rep == NULL) {
        gw_log_warn(r->rid, "redis I/O: %s", r->ctx->errstr);
        gw_redis_fini(r);
        return GW_EUNAVAIL;
    }
    rc = GW_OK;
    if (rep->type == REDIS_REPLY_ERROR
        && strncmp(rep->str, "BUSYGROUP", 9) != 0) {
        gw_log_error(r->rid, "XGROUP CREATE %s: %s", group, rep->str);
        rc = GW_ERROR;
    }
    freeReplyObject(rep);
    return rc;
}

/* Where the next claim of this loop starts (0: from the start). */
static int64_t
ntf_relay_scan_from(struct ntf_relay_scan *scan)
{
    if (scan == NULL || scan->rescan
        || scan->batches >= NTF_RELAY_RESCAN_EVERY) {
        if (scan != NULL) {
            scan->rescan = 0, scan->batches = 0;
        }
        return 0;
    }
    scan->batches++;
    return __atomic_load_n(&ntf_relay_from, __ATOMIC_RELAXED);
}

/* After a claim: raises the shared hint; a short batch asks for a rescan. */
static void
ntf_relay_scan_done(struct ntf_relay_scan *scan, int64_t last_id, size_t n,
                    int64_t batch)
{
    int64_t cur = __atomic_load_n(&ntf_relay_from, __ATOMIC_RELAXED);

    while (n > 0 && last_id + 1 > cur
           && !__atomic_compare_exchange_n(&ntf_relay_from, &cur, last_id + 1,
                                           0, __ATOMIC_RELAXED,
                                           __ATOMIC_RELAXED)) {
    }
    if (scan != NULL && (int64_t) n < batch) {
        scan->rescan = 1;
    }
}

/* Claims a batch in the open transaction: rows[] in the arena. */
static int
ntf_relay_claim(struct gw_thread *t, struct ntf_relay_scan *scan,
                struct ntf_relay_row **rows, size_t *n)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    size_t     i = 0;
    int        rc;

    rc = gw_db_query(&t->db, &t->arena, &res,
                     "SELECT p.id, o.notif_id, o.user_id, o.type, o.payload,"
                     " TIMESTAMPDIFF(MICROSECOND, '1970-01-01', o.created_at)"
                     " DIV 1000 FROM outbox_pending p JOIN outbox o"
                     " ON o.id = p.id WHERE p.id >= %lld"
                     " AND (p.next_attempt_at IS NULL"
                     " OR p.next_attempt_at <= UTC_TIMESTAMP(3))"
                     " ORDER BY p.id LIMIT %lld FOR UPDATE SKIP LOCKED",
                     (long long) ntf_relay_scan_from(scan),
                     (long long) t->cfg->relay.batch);
    if (rc != GW_OK) {
        return rc;
    }
    *n = (size_t) mysql_num_rows(res);
    *rows = gw_arena_calloc(&t->arena, (*n + 1) * sizeof(**rows));
    if (*rows == NULL) {
        return GW_ERROR;
    }
    while ((row = mysql_fetch_row(res)) != NULL && i < *n) {
        struct ntf_relay_row *r = &(*rows)[i++];
        r->id = gw_db_col_i64(row, 0);
        r->it.id = gw_db_col_str(row, 1);
        r->it.user = gw_db_col_str(row, 2);
        r->it.type = gw_db_col_str(row, 3);
        r->it.payload = gw_db_col_str(row, 4);
        r->it.created_ms = gw_db_col_i64(row, 5);
    }
    *n = i;
    ntf_relay_scan_done(scan, i > 0 ? (*rows)[i - 1].id : 0, i,
                        t->cfg->relay.batch);
    return GW_OK;
}

/*
 * Appends every row's commands to the Redis pipeline (nothing is written
 * yet: hiredis buffers them). A row whose user has no valid inbox key is
 * not sent (sent = 0: delayed like a refused one, so it cannot hold the
 * queue). Any other failure leaves a partial pipeline: the connection is
 * dropped with it.
 */
static int
ntf_relay_build(struct gw_thread *t, struct ntf_relay_row *rows, size_t n)
{
    struct gw_buf item = {0};
    char          key[NTF_INBOX_KEY_MAX];
    size_t        i;
    int           rc = GW_OK;

    for (i = 0; i < n; i++) {
        if (ntf_inbox_key(rows[i].it.user, key, sizeof(key)) != 0) {
            gw_log_error(NULL, "notification %s: bad user id", rows[i].it.id);
            continue;
        }
        item.len = 0;
        if (ntf_item_json(&rows[i].it, &item) != 0
            || ntf_append(&t->redis, &rows[i].it, item.data, item.len) != 0) {
            gw_redis_fini(&t->redis);
            rc = GW_ERROR;
            break;
        }
        rows[i].sent = 1;
    }
    gw_buf_free(&item);
    return rc;
}

/* Sends the pipeline, reads the replies: rows[i].ok = accepted. */
static int
ntf_relay_read(struct gw_thread *t, struct ntf_relay_row *rows, size_t n)
{
    size_t i;
    int    got;

    for (i = 0; i < n; i++) {
        if (!rows[i].sent) {
            continue;
        }
        got = ntf_append_read(&t->redis, rows[i].it.id);
        if (got == GW_EUNAVAIL) {
            return got;
        }
        rows[i].ok = got == GW_OK;
    }
    return GW_OK;
}

/* Deletes the queue entries of rows (ok == want), or delays them. */
static int
ntf_relay_mark(struct gw_thread *t, struct ntf_relay_row *rows, size_t n,
               int want, int64_t *count)
{
    struct gw_buf ids = {0};
    size_t        i;
    int           rc = GW_OK;

    *count = 0;
    gw_buf_appends(&ids, "[");
    for (i = 0; i < n; i++) {
        if (rows[i].ok == want) {
            gw_buf_printf(&ids, "%s%lld", *count ? "," : "",
                          (long long) rows[i].id);
            (*count)++;
        }
    }
    if (gw_buf_appends(&ids, "]") != 0) {
        rc = GW_ERROR;
    } else if (*count > 0 && want) {
        rc = gw_db_exec(&t->db,
                        "DELETE p FROM JSON_TABLE(%s, '$[*]' COLUMNS (jid"
                        " BIGINT UNSIGNED PATH '$')) j STRAIGHT_JOIN"
                        " outbox_pending p FORCE INDEX (PRIMARY)"
                        " ON p.id = j.jid",
                        ids.data);
    } else if (*count > 0) {
        rc = gw_db_exec(&t->db,
                        "UPDATE JSON_TABLE(%s, '$[*]' COLUMNS (jid BIGINT"
                        " UNSIGNED PATH '$')) j STRAIGHT_JOIN outbox_pending p"
                        " FORCE INDEX (PRIMARY) ON p.id = j.jid"
                        " SET p.attempts = p.attempts + 1,"
                        " p.last_error = 'redis refused the entry',"
                        " p.next_attempt_at = UTC_TIMESTAMP(3)"
                        " + INTERVAL %d SECOND",
                        ids.data, NTF_RELAY_ERROR_RETRY_S);
    }
    gw_buf_free(&ids);
    return rc;
}

/* Connects to Redis and makes sure the IM's consumer group exists. */
static int
ntf_relay_redis_ready(struct gw_thread *t)
{
    int rc;

    if (t->redis.ctx != NULL) {
        return GW_OK;
    }
    rc = gw_redis_connect(&t->redis);
    if (rc == GW_OK) {
        rc = ntf_relay_group_ensure(&t->redis, NTF_GROUP, "0");
    }
    if (rc != GW_OK) {
        gw_redis_fini(&t->redis);
        return GW_EUNAVAIL;
    }
    return GW_OK;
}

int
ntf_relay_batch(struct gw_thread *t, struct ntf_relay_scan *scan,
                int64_t *moved)
{
    struct ntf_relay_row *rows = NULL;
    size_t                n = 0;
    int64_t               bad = 0;
    int                   rc;

    *moved = 0;
    rc = ntf_relay_redis_ready(t);
    if (rc != GW_OK) {
        return rc;
    }
    rc = gw_db_exec(&t->db, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
    if (rc == GW_OK) {
        rc = gw_db_begin(&t->db);
    }
    if (rc != GW_OK) {
        goto done;
    }
    rc = ntf_relay_claim(t, scan, &rows, &n);
    if (rc == GW_OK && n > 0) {
        rc = ntf_relay_build(t, rows, n);
    }
    /* From the first byte sent to Redis to COMMIT, one batch at a time. */
    pthread_mutex_lock(&ntf_relay_flight);
    if (rc == GW_OK && n > 0) {
        rc = ntf_relay_read(t, rows, n);
    }
    if (rc == GW_OK && n > 0) {
        rc = ntf_relay_mark(t, rows, n, 1, moved);
    }
    if (rc == GW_OK && n > 0) {
        rc = ntf_relay_mark(t, rows, n, 0, &bad);
    }
    rc = rc == GW_OK ? gw_db_commit(&t->db) : rc;
    pthread_mutex_unlock(&ntf_relay_flight);
    if (rc != GW_OK) {
        gw_db_rollback(&t->db);
        gw_metrics_add(ntf_relay_m.failed, (int64_t) n);
        *moved = 0;
        if (scan != NULL) {
            scan->rescan = 1; /* the rows released lie below the hint */
        }
        goto done;
    }
    if (n > 0) {
        gw_metrics_add(ntf_relay_m.delivered, *moved);
        gw_metrics_add(ntf_relay_m.failed, bad);
        gw_metrics_add(ntf_relay_m.batches, 1);
    }
done:
    gw_arena_reset(&t->arena);
    return rc;
}

int
ntf_relay_backlog_get(struct gw_db *db, struct gw_arena *a,
                      struct ntf_relay_backlog *out)
{
    MYSQL_ROW row;
    int       rc;

    memset(out, 0, sizeof(*out));
    rc = gw_db_row(db, a, &row,
                   "SELECT (SELECT COUNT(*) FROM outbox_pending),"
                   " COALESCE(TIMESTAMPDIFF(MICROSECOND, (SELECT o.created_at"
                   " FROM outbox_pending p JOIN outbox o ON o.id = p.id"
                   " ORDER BY p.id LIMIT 1), UTC_TIMESTAMP(3)) DIV 1000, 0)");
    if (rc == GW_OK && row != NULL) {
        out->count = gw_db_col_i64(row, 0);
        out->oldest_age_ms = gw_db_col_i64(row, 1);
    }
    return rc;
}

/* Refreshes the backlog gauges (any relay may; the last write wins). */
static void
ntf_relay_gauges(struct gw_thread *t)
{
    struct ntf_relay_backlog b;

    if (ntf_relay_backlog_get(&t->db, &t->arena, &b) == GW_OK) {
        gw_metrics_set(ntf_relay_m.backlog, b.count);
        gw_metrics_set(ntf_relay_m.oldest_age_s, b.oldest_age_ms / 1000);
    }
    gw_arena_reset(&t->arena);
}

/*
 * One relay loop until the role stops: batches back to back while there is
 * a backlog, a pause when idle, back-off while Redis or MariaDB is down.
 * The first loop (gauges != 0) also refreshes the backlog gauges.
 */
static void
ntf_relay_loop(struct gw_thread *t, int gauges)
{
    struct ntf_relay_scan scan = {0, 0};
    int64_t               backoff_ms = 0, moved, gauges_at_ms = 0;
    int                   rc;

    while (!gw_role_stopping()) {
        rc = ntf_relay_batch(t, &scan, &moved);
        if (gauges && gw_now_ms() >= gauges_at_ms) {
            ntf_relay_gauges(t);
            gauges_at_ms = gw_now_ms() + NTF_RELAY_GAUGE_EVERY_MS;
        }
        if (rc == GW_OK && moved >= t->cfg->relay.batch) {
            backoff_ms = 0;
            continue; /* a backlog: drain it */
        }
        if (rc == GW_OK || rc == GW_ERETRY) {
            backoff_ms = 0;
            gw_role_sleep_ms(t->cfg->relay.interval_ms);
            continue;
        }
        backoff_ms = gw_backoff_next(backoff_ms);
        gw_log_warn(NULL, "relay batch failed (%d); retrying in %lld ms", rc,
                    (long long) backoff_ms);
        gw_role_sleep_ms(backoff_ms);
    }
}

struct ntf_relay_extra {
    struct gw_thread t;
    pthread_t        tid;
};

static void *
ntf_relay_extra_main(void *arg)
{
    struct ntf_relay_extra *x = arg;

    ntf_relay_loop(&x->t, 0);
    gw_thread_fini(&x->t);
    return NULL;
}

int
ntf_relay_run(struct gw_thread *t)
{
    static struct ntf_relay_extra extra[NTF_RELAY_THREADS_MAX];
    pthread_t                     wh;
    int64_t                       i, started = 0;
    int                           wh_started;

    gw_log_info(NULL,
                "relay started: stream %s, group %s, batch %lld,"
                " %lld loops",
                t->cfg->redis.notify_stream, NTF_GROUP,
                (long long) t->cfg->relay.batch,
                (long long) t->cfg->relay.threads);
    wh_started = ntf_webhook_thread_start(t->cfg, &wh) == 0;
    /* More loops overlap one batch's MariaDB work with another's Redis
     * round trips; SKIP LOCKED gives each its own rows. */
    for (i = 1; i < t->cfg->relay.threads && i < NTF_RELAY_THREADS_MAX; i++) {
        struct ntf_relay_extra *x = &extra[started];
        if (gw_thread_init(&x->t, t->cfg, (int) (i + 1)) != 0) {
            break;
        }
        if (pthread_create(&x->tid, NULL, ntf_relay_extra_main, x) != 0) {
            gw_thread_fini(&x->t);
            break;
        }
        started++;
    }
    ntf_relay_loop(t, 1);
    for (i = 0; i < started; i++) {
        pthread_join(extra[i].tid, NULL);
    }
    if (wh_started) {
        pthread_join(wh, NULL);
    }
    gw_log_info(NULL, "relay stops");
    return 0;
}
