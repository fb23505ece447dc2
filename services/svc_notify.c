/*
 * svc_notify.c — the notification format shared by the relay and direct
 * sends, the user's inbox (GET /v1/notifications) and the metrics.
 *
 * Why a sorted set for the inbox: with every score 0 Redis orders members
 * by bytes, and each member starts with {"id":"<id>" where ids begin with
 * 12 hex digits of milliseconds, so the set is in creation order; ZADD of
 * the same member again (an at-least-once re-delivery) is a no-op, so the
 * inbox de-duplicates itself; paging "after" an id is a ZREVRANGEBYLEX
 * bound, stable while new items arrive.
 */
#include <string.h>

#include <curl/curl.h>

#include "gw_db.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_outbox.h"
#include "gw_redis.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "svc_notify.h"
#include "svc_relay.h"

#define SVC_NOTIFY_ITEM_PREFIX "{\"id\":\""

int
svc_notify_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return -1;
    }
    return svc_relay_metrics_register();
}

int
svc_notify_id_valid(const char *s)
{
    size_t i;

    if (s == NULL || strlen(s) != GW_NOTIF_ID_LEN) {
        return 0;
    }
    for (i = 0; i < GW_NOTIF_ID_LEN; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

int
svc_notify_inbox_key(const char *user, char *out, size_t cap)
{
    size_t n = strlen(SVC_NOTIFY_INBOX_PREFIX), u = strlen(user);

    if (u == 0 || n + u + 3 > cap) {
        return -1;
    }
    memcpy(out, SVC_NOTIFY_INBOX_PREFIX, n);
    out[n] = '{';
    memcpy(out + n + 1, user, u);
    out[n + 1 + u] = '}';
    out[n + 2 + u] = '\0';
    return 0;
}

int
svc_notify_parse_page(const char *after, const char *limit_s, int64_t *limit,
                      const char **why)
{
    *limit = SVC_NOTIFY_LIMIT_DEFAULT;
    if (after != NULL && !svc_notify_id_valid(after)) {
        *why = "after must be a notification id (32 lower-case hex digits)";
        return GW_EINVAL;
    }
    if (limit_s != NULL
        && (gw_parse_i64(limit_s, strlen(limit_s), limit) != 0 || *limit < 1
            || *limit > SVC_NOTIFY_LIMIT_MAX)) {
        *why = "limit must be an integer from 1 to 100";
        return GW_EINVAL;
    }
    return GW_OK;
}

int
svc_notify_item_json(const struct svc_notify_item *it, struct gw_buf *out)
{
    char ts[32];

    gw_time_rfc3339_ms(it->created_ms, ts, sizeof(ts));
    if (gw_buf_appends(out, SVC_NOTIFY_ITEM_PREFIX) != 0
        || gw_buf_appends(out, it->id) != 0
        || gw_buf_appends(out, "\",\"type\":") != 0
        || gw_buf_append_json_str(out, it->type) != 0
        || gw_buf_printf(out, ",\"created_at\":\"%s\",\"data\":", ts) != 0
        || gw_buf_appends(out, it->payload) != 0
        || gw_buf_appends(out, "}") != 0) {
        return -1;
    }
    return 0;
}

int
svc_notify_append(struct gw_redis *r, const struct svc_notify_item *it,
                  const char *item_json, size_t item_len)
{
    char        key[SVC_NOTIFY_INBOX_KEY_MAX], ts[32], maxlen[24], keep[24];
    const char *xadd[16], *zadd[4], *trim[4];
    size_t      xlen[16], zlen[4], tlen[4];
    int         i;

    if (svc_notify_inbox_key(it->user, key, sizeof(key)) != 0) {
        return -1;
    }
    gw_time_rfc3339_ms(it->created_ms, ts, sizeof(ts));
    snprintf(maxlen, sizeof(maxlen), "%d", SVC_NOTIFY_STREAM_MAXLEN);
    snprintf(keep, sizeof(keep), "%lld",
             -(long long) r->cfg->redis.inbox_max - 1);
    xadd[0] = "XADD", xadd[1] = r->cfg->redis.notify_stream;
    xadd[2] = "MAXLEN", xadd[3] = "~", xadd[4] = maxlen, xadd[5] = "*";
    xadd[6] = "id", xadd[7] = it->id, xadd[8] = "user", xadd[9] = it->user;
    xadd[10] = "type", xadd[11] = it->type, xadd[12] = "payload";
    xadd[13] = it->payload, xadd[14] = "created_at", xadd[15] = ts;
    for (i = 0; i < 16; i++) {
        xlen[i] = strlen(xadd[i]);
    }
    zadd[0] = "ZADD", zadd[1] = key, zadd[2] = "0", zadd[3] = item_json;
    zlen[0] = 4, zlen[1] = strlen(key), zlen[2] = 1, zlen[3] = item_len;
    trim[0] = "ZREMRANGEBYRANK", trim[1] = key, trim[2] = "0", trim[3] = keep;
    for (i = 0; i < 4; i++) {
        tlen[i] = strlen(trim[i]);
    }
    if (redisAppendCommandArgv(r->ctx, 16, xadd, xlen) != REDIS_OK
        || redisAppendCommandArgv(r->ctx, 4, zadd, zlen) != REDIS_OK
        || redisAppendCommandArgv(r->ctx, 4, trim, tlen) != REDIS_OK) {
        return -1;
    }
    return 0;
}

int
svc_notify_direct(struct gw_redis *r, const char *user, const char *type,
                  const char *payload_json, char *id_out)
{
    struct svc_notify_item it;
    struct gw_buf          item = {0};
    char                   id[GW_NOTIF_ID_LEN + 1];
    redisReply            *rep;
    int                    rc = GW_EINVAL, i, got;

    if (user == NULL || *user == '\0' || strlen(user) > GW_USER_ID_MAX
        || type == NULL || *type == '\0' || strlen(type) > SVC_NOTIFY_TYPE_MAX
        || payload_json == NULL || payload_json[0] != '{'
        || strlen(payload_json) > SVC_NOTIFY_PAYLOAD_MAX) {
        goto fail;
    }
    gw_outbox_id_new(id);
    it.id = id, it.user = user, it.type = type, it.payload = payload_json;
    it.created_ms = gw_now_ms();
    rc = GW_ERROR;
    if (svc_notify_item_json(&it, &item) != 0) {
        goto fail;
    }
    rc = gw_redis_connect(r);
    if (rc != GW_OK) {
        goto fail;
    }
    if (svc_notify_append(r, &it, item.data, item.len) != 0) {
        rc = GW_ERROR;
        goto fail;
    }
    rc = GW_OK;
    for (i = 0; i < SVC_NOTIFY_CMDS_PER_ITEM; i++) {
        got = gw_redis_pipeline_get(r, &rep);
        if (rep != NULL) {
            freeReplyObject(rep);
        }
        if (got == GW_EUNAVAIL) {
            rc = got;
            goto fail;
        }
        if (got != GW_OK) {
            rc = got;
        }
    }
    if (rc == GW_OK) {
        svc_relay_metrics_direct();
        if (id_out != NULL) {
            memcpy(id_out, id, sizeof(id));
        }
    }
fail:
    gw_buf_free(&item);
    return rc;
}

/* --- GET /v1/notifications ------------------------------------------- */

/*
 * One page from Redis: members strictly below the "after" id, newest first,
 * one more than asked so we know whether a next page exists.
 */
static int
svc_notify_page_redis(struct gw_request *r, const char *after, int64_t limit,
                      struct gw_buf *out, const char **last_id, int *more)
{
    char        key[SVC_NOTIFY_INBOX_KEY_MAX];
    const char *max;
    redisReply *rep;
    size_t      i, n;
    int         rc;

    if (svc_notify_inbox_key(r->user_id, key, sizeof(key)) != 0) {
        return GW_ERROR;
    }
    max = after == NULL
        ? "+"
        : gw_arena_printf(r->arena, "(" SVC_NOTIFY_ITEM_PREFIX "%s", after);
    r->thr->redis.rid = r->request_id;
    rc = gw_redis_cmd(&r->thr->redis, r->arena, &rep,
                      "ZREVRANGEBYLEX %s %s - LIMIT 0 %lld", key, max,
                      (long long) limit + 1);
    if (rc != GW_OK) {
        return rc == GW_ERROR ? GW_ERROR : GW_EUNAVAIL;
    }
    if (rep->type != REDIS_REPLY_ARRAY) {
        return GW_ERROR;
    }
    n = rep->elements;
    *more = n > (size_t) limit;
    for (i = 0; i < n && i < (size_t) limit; i++) {
        redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING
            || e->len < sizeof(SVC_NOTIFY_ITEM_PREFIX) - 1 + GW_NOTIF_ID_LEN) {
            continue;
        }
        if ((out->len > 0 && gw_buf_append(out, ",", 1) != 0)
            || gw_buf_append(out, e->str, e->len) != 0) {
            return GW_ERROR;
        }
        *last_id = gw_arena_strndup(r->arena,
                                    e->str + sizeof(SVC_NOTIFY_ITEM_PREFIX) - 1,
                                    GW_NOTIF_ID_LEN);
    }
    return GW_OK;
}

/*
 * Redis down: the same page from the MariaDB outbox (money notifications
 * only; direct lobby events never reach MariaDB).
 */
static int
svc_notify_page_db(struct gw_request *r, const char *after, int64_t limit,
                   struct gw_buf *out, const char **last_id, int *more)
{
    struct svc_notify_item it;
    MYSQL_RES             *res;
    MYSQL_ROW              row;
    int64_t                n = 0;
    int                    rc;

    r->thr->db.rid = r->request_id;
    rc = gw_db_query(&r->thr->db, r->arena, &res,
                     "SELECT notif_id, user_id, type, payload,"
                     " TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at)"
                     " DIV 1000 FROM outbox WHERE user_id = %s"
                     " AND notif_id < %s ORDER BY notif_id DESC LIMIT %lld",
                     r->user_id, after != NULL ? after : "g",
                     (long long) limit + 1);
    if (rc != GW_OK) {
        return rc;
    }
    *more = 0;
    while ((row = mysql_fetch_row(res)) != NULL) {
        if (n++ == limit) {
            *more = 1;
            break;
        }
        it.id = gw_db_col_str(row, 0), it.user = gw_db_col_str(row, 1);
        it.type = gw_db_col_str(row, 2), it.payload = gw_db_col_str(row, 3);
        it.created_ms = gw_db_col_i64(row, 4);
        if ((out->len > 0 && gw_buf_append(out, ",", 1) != 0)
            || svc_notify_item_json(&it, out) != 0) {
            return GW_ERROR;
        }
        *last_id = gw_arena_strdup(r->arena, it.id);
    }
    return GW_OK;
}

int
svc_notify_inbox(struct gw_request *r)
{
    struct gw_buf *items = gw_arena_buf_new(r->arena);
    struct gw_buf *body = gw_arena_buf_new(r->arena);
    const char    *after = gw_request_arg(r, "after"), *why = NULL;
    const char    *last_id = NULL, *source = "redis";
    int64_t        limit;
    int            more = 0, rc;

    if (items == NULL || body == NULL) {
        return GW_ERROR;
    }
    rc = svc_notify_parse_page(after, gw_request_arg(r, "limit"), &limit, &why);
    if (rc != GW_OK) {
        gw_request_problem(r, "%s", why);
        return rc;
    }
    rc = svc_notify_page_redis(r, after, limit, items, &last_id, &more);
    if (rc == GW_EUNAVAIL) {
        source = "mysql";
        items->len = 0;
        last_id = NULL;
        rc = svc_notify_page_db(r, after, limit, items, &last_id, &more);
    }
    if (rc != GW_OK) {
        return rc;
    }
    if (gw_buf_appends(body, "{\"items\":[") != 0
        || (items->len > 0 && gw_buf_append(body, items->data, items->len) != 0)
        || gw_buf_appends(body, "],\"next_after\":") != 0
        || gw_buf_appends(body, more && last_id != NULL ? "\"" : "null") != 0
        || (more && last_id != NULL
            && gw_buf_printf(body, "%s\"", last_id) != 0)
        || gw_buf_appends(body, "}") != 0) {
        return GW_ERROR;
    }
    gw_reply_header(r, "Cache-Control", "no-store");
    gw_reply_header(r, "Vas-Inbox-Source", source);
    return gw_reply_raw(r, 200, "application/json", body->data, body->len);
}
