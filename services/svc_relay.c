/*
 * svc_relay.c — the relay role (outbox → Redis), its back-off and metrics.
 *
 * Why READ COMMITTED for the claim: under REPEATABLE READ a locking read
 * takes next-key (gap) locks on the pending index, which would make every
 * purchase inserting a new outbox row wait for the relay's Redis round
 * trip. READ COMMITTED locks only the rows claimed.
 *
 * Why JSON_TABLE for the marks: the SQL formatter only accepts quoted
 * literals and integers, so the claimed ids travel as one JSON array
 * literal, joined on the primary key (eq_ref, one statement per batch).
 */
#include <pthread.h>
#include <string.h>

#include "gw_db.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_outbox.h"
#include "gw_redis.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "svc_notify.h"
#include "svc_relay.h"
#include "svc_webhook.h"

static struct {
    int backlog, oldest_age_s, delivered, failed, direct, batches;
    int wh_delivered, wh_retried, wh_dead, wh_latency;
} svc_relay_m = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};

struct svc_relay_row {
    int64_t                id;
    struct svc_notify_item it;
    int                    ok;
};

int
svc_relay_metrics_register(void)
{
    enum gw_metric_type C = GW_METRIC_COUNTER, G = GW_METRIC_GAUGE,
                        H = GW_METRIC_HISTOGRAM;

    svc_relay_m.backlog = gw_metrics_register(
        "vasgw_outbox_backlog", "Outbox rows not yet relayed to Redis", G);
    svc_relay_m.oldest_age_s =
        gw_metrics_register("vasgw_outbox_oldest_age_seconds",
                            "Age of the oldest undelivered outbox row", G);
    svc_relay_m.delivered = gw_metrics_register(
        "vasgw_notify_delivered_total", "Notifications relayed to Redis", C);
    svc_relay_m.failed = gw_metrics_register(
        "vasgw_notify_failed_total",
        "Notifications whose relay attempt failed (sent again later)", C);
    svc_relay_m.direct =
        gw_metrics_register("vasgw_notify_direct_total",
                            "Non-money notifications sent directly", C);
    svc_relay_m.batches = gw_metrics_register("vasgw_notify_batches_total",
                                              "Relay batches committed", C);
    svc_relay_m.wh_delivered = gw_metrics_register(
        "vasgw_webhook_delivered_total", "Webhook events delivered (2xx)", C);
    svc_relay_m.wh_retried = gw_metrics_register(
        "vasgw_webhook_attempt_failures_total",
        "Webhook attempts that failed and were rescheduled", C);
    svc_relay_m.wh_dead = gw_metrics_register(
        "vasgw_webhook_failed_total", "Webhook events dead-lettered", C);
    svc_relay_m.wh_latency =
        gw_metrics_register("vasgw_webhook_attempt_duration_seconds",
                            "Webhook attempt durations", H);
    return svc_relay_m.wh_latency < 0 ? -1 : 0;
}

void
svc_relay_metrics_direct(void)
{
    gw_metrics_add(svc_relay_m.direct, 1);
}

void
svc_relay_metrics_webhook(int outcome, int64_t latency_ms)
{
    gw_metrics_add(outcome == SVC_RELAY_WH_DELIVERED  ? svc_relay_m.wh_delivered
                       : outcome == SVC_RELAY_WH_DEAD ? svc_relay_m.wh_dead
                                                      : svc_relay_m.wh_retried,
                   1);
    gw_metrics_observe_us(svc_relay_m.wh_latency, latency_ms * 1000);
}

int64_t
svc_relay_backoff_next(int64_t prev_ms)
{
    if (prev_ms < SVC_RELAY_BACKOFF_MIN_MS) {
        return SVC_RELAY_BACKOFF_MIN_MS;
    }
    return prev_ms >= SVC_RELAY_BACKOFF_MAX_MS / 2 ? SVC_RELAY_BACKOFF_MAX_MS
                                                   : prev_ms * 2;
}

int
svc_relay_group_ensure(struct gw_redis *r, const char *group,
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

/* Claims a batch in the open transaction: rows[] in the arena. */
static int
svc_relay_claim(struct gw_thread *t, struct svc_relay_row **rows, size_t *n)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    size_t     i = 0;
    int        rc;

    rc = gw_db_query(&t->db, &t->arena, &res,
                     "SELECT id, notif_id, user_id, type, payload,"
                     " TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at)"
                     " DIV 1000 FROM outbox WHERE delivered_at IS NULL"
                     " AND (next_attempt_at IS NULL"
                     " OR next_attempt_at <= UTC_TIMESTAMP(3))"
                     " ORDER BY id LIMIT %lld FOR UPDATE SKIP LOCKED",
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
        struct svc_relay_row *r = &(*rows)[i++];
        r->id = gw_db_col_i64(row, 0);
        r->it.id = gw_db_col_str(row, 1);
        r->it.user = gw_db_col_str(row, 2);
        r->it.type = gw_db_col_str(row, 3);
        r->it.payload = gw_db_col_str(row, 4);
        r->it.created_ms = gw_db_col_i64(row, 5);
    }
    return GW_OK;
}

/* Pipelines every row to Redis; rows[i].ok tells which were accepted. */
static int
svc_relay_push(struct gw_thread *t, struct svc_relay_row *rows, size_t n)
{
    struct gw_buf item = {0};
    redisReply   *rep;
    size_t        i;
    int           k, rc = GW_OK, got;

    for (i = 0; i < n; i++) {
        item.len = 0;
        if (svc_notify_item_json(&rows[i].it, &item) != 0
            || svc_notify_append(&t->redis, &rows[i].it, item.data, item.len)
                != 0) {
            rc = GW_ERROR;
            goto fail;
        }
    }
    for (i = 0; i < n; i++) {
        rows[i].ok = 1;
        for (k = 0; k < SVC_NOTIFY_CMDS_PER_ITEM; k++) {
            got = gw_redis_pipeline_get(&t->redis, &rep);
            if (got == GW_EUNAVAIL) {
                rc = got;
                goto fail;
            }
            if (got != GW_OK) {
                gw_log_error(NULL, "notification %s: redis: %s", rows[i].it.id,
                             rep ? rep->str : "?");
                rows[i].ok = 0;
            }
            freeReplyObject(rep);
        }
    }
fail:
    gw_buf_free(&item);
    return rc;
}

/* Marks rows (ok == want) delivered, or due again later, by id list. */
static int
svc_relay_mark(struct gw_thread *t, struct svc_relay_row *rows, size_t n,
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
                        "UPDATE outbox o JOIN JSON_TABLE(%s, '$[*]' COLUMNS"
                        " (jid BIGINT UNSIGNED PATH '$')) j ON o.id = j.jid"
                        " SET o.delivered_at = UTC_TIMESTAMP(3),"
                        " o.attempts = o.attempts + 1",
                        ids.data);
    } else if (*count > 0) {
        rc = gw_db_exec(&t->db,
                        "UPDATE outbox o JOIN JSON_TABLE(%s, '$[*]' COLUMNS"
                        " (jid BIGINT UNSIGNED PATH '$')) j ON o.id = j.jid"
                        " SET o.attempts = o.attempts + 1, o.last_error ="
                        " 'redis refused the entry', o.next_attempt_at ="
                        " UTC_TIMESTAMP(3) + INTERVAL %d SECOND",
                        ids.data, SVC_RELAY_ERROR_RETRY_S);
    }
    gw_buf_free(&ids);
    return rc;
}

int
svc_relay_batch(struct gw_thread *t, int64_t *moved)
{
    struct svc_relay_row *rows = NULL;
    size_t                n = 0;
    int64_t               bad = 0;
    int                   rc;

    *moved = 0;
    if (t->redis.ctx == NULL) {
        rc = gw_redis_connect(&t->redis);
        if (rc == GW_OK) {
            rc = svc_relay_group_ensure(&t->redis, SVC_NOTIFY_GROUP, "0");
        }
        if (rc != GW_OK) {
            return GW_EUNAVAIL;
        }
    }
    rc = gw_db_exec(&t->db, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
    if (rc == GW_OK) {
        rc = gw_db_begin(&t->db);
    }
    if (rc != GW_OK) {
        goto done;
    }
    rc = svc_relay_claim(t, &rows, &n);
    if (rc == GW_OK && n > 0) {
        rc = svc_relay_push(t, rows, n);
    }
    if (rc == GW_OK && n > 0) {
        rc = svc_relay_mark(t, rows, n, 1, moved);
    }
    if (rc == GW_OK && n > 0) {
        rc = svc_relay_mark(t, rows, n, 0, &bad);
    }
    rc = rc == GW_OK ? gw_db_commit(&t->db) : rc;
    if (rc != GW_OK) {
        gw_db_rollback(&t->db);
        gw_metrics_add(svc_relay_m.failed, (int64_t) n);
        *moved = 0;
        goto done;
    }
    if (n > 0) {
        gw_metrics_add(svc_relay_m.delivered, *moved);
        gw_metrics_add(svc_relay_m.failed, bad);
        gw_metrics_add(svc_relay_m.batches, 1);
    }
done:
    gw_arena_reset(&t->arena);
    return rc;
}

/* Refreshes the backlog gauges (any relay may; the last write wins). */
static void
svc_relay_gauges(struct gw_thread *t)
{
    MYSQL_ROW row;

    if (gw_db_row(&t->db, &t->arena, &row,
                  "SELECT COUNT(*), COALESCE(TIMESTAMPDIFF(SECOND,"
                  " MIN(created_at), UTC_TIMESTAMP(3)), 0) FROM outbox"
                  " WHERE delivered_at IS NULL")
            == GW_OK
        && row != NULL) {
        gw_metrics_set(svc_relay_m.backlog, gw_db_col_i64(row, 0));
        gw_metrics_set(svc_relay_m.oldest_age_s, gw_db_col_i64(row, 1));
    }
    gw_arena_reset(&t->arena);
}

int
svc_relay_run(struct gw_thread *t)
{
    pthread_t wh;
    int64_t   backoff_ms = 0, moved, gauges_at_ms = 0;
    int       rc, wh_started;

    gw_log_info(NULL, "relay started: stream %s, group %s, batch %lld",
                t->cfg->redis.notify_stream, SVC_NOTIFY_GROUP,
                (long long) t->cfg->relay.batch);
    wh_started = svc_webhook_thread_start(t->cfg, &wh) == 0;
    while (!gw_role_stopping()) {
        rc = svc_relay_batch(t, &moved);
        if (gw_now_ms() >= gauges_at_ms) {
            svc_relay_gauges(t);
            gauges_at_ms = gw_now_ms() + SVC_RELAY_GAUGE_EVERY_MS;
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
        backoff_ms = svc_relay_backoff_next(backoff_ms);
        gw_log_warn(NULL, "relay batch failed (%d); retrying in %lld ms", rc,
                    (long long) backoff_ms);
        gw_role_sleep_ms(backoff_ms);
    }
    if (wh_started) {
        pthread_join(wh, NULL);
    }
    gw_log_info(NULL, "relay stops");
    return 0;
}
