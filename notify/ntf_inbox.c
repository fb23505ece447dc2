/*
 * ntf_inbox.c — inbox pages from Redis, or from the MariaDB outbox while
 * Redis is down.
 *
 * Why members are parsed before they are served: the body is assembled from
 * member texts, so one member that is not an item (written by hand, by an
 * old version, cut by a full Redis) would make the whole answer invalid
 * JSON; a member is served only when it is an object with a valid id, a
 * type, a created_at and an object data.
 */
#include <string.h>

#include <cJSON.h>

#include "gw_arena.h"
#include "gw_db.h"
#include "gw_log.h"
#include "gw_redis.h"
#include "gw_status.h"
#include "ntf_inbox.h"
#include "ntf_wire.h"

/* The page being built. */
struct ntf_page {
    struct gw_buf *items;   /* comma-separated item texts */
    const char    *last_id; /* id of the last item served */
    int            more;    /* more items beyond this page */
};

int
ntf_inbox_query_parse(const char *since, const char *cursor, const char *after,
                      const char *limit_s, struct ntf_inbox_query *q,
                      const char **why)
{
    memset(q, 0, sizeof(*q));
    q->limit = NTF_INBOX_LIMIT_DEFAULT;
    if (cursor != NULL && after != NULL) {
        *why = "use cursor or after (its old name), not both";
        return GW_EINVAL;
    }
    q->cursor = cursor != NULL ? cursor : after;
    q->since = since;
    if (q->since != NULL && q->cursor != NULL) {
        *why = "since (polling, oldest first) and cursor (newest first)"
               " do not combine";
        return GW_EINVAL;
    }
    if (q->cursor != NULL && !ntf_id_valid(q->cursor)) {
        *why = "cursor/after must be a notification id (32 lower-case hex"
               " digits)";
        return GW_EINVAL;
    }
    if (q->since != NULL && !ntf_id_valid(q->since)) {
        *why = "since must be a notification id (32 lower-case hex digits)";
        return GW_EINVAL;
    }
    if (limit_s != NULL
        && (gw_parse_i64(limit_s, strlen(limit_s), &q->limit) != 0
            || q->limit < 1 || q->limit > NTF_INBOX_LIMIT_MAX)) {
        *why = "limit must be an integer from 1 to 100";
        return GW_EINVAL;
    }
    return GW_OK;
}

/* 1 when text[len] is an inbox item we can serve. */
static int
ntf_inbox_member_ok(const char *text, size_t len)
{
    cJSON *j, *id, *type, *at, *data;
    int    ok;

    if (len < sizeof(NTF_ITEM_PREFIX) - 1 + NTF_ID_LEN
        || memcmp(text, NTF_ITEM_PREFIX, sizeof(NTF_ITEM_PREFIX) - 1) != 0) {
        return 0;
    }
    j = cJSON_ParseWithLength(text, len);
    id = cJSON_GetObjectItemCaseSensitive(j, "id");
    type = cJSON_GetObjectItemCaseSensitive(j, "type");
    at = cJSON_GetObjectItemCaseSensitive(j, "created_at");
    data = cJSON_GetObjectItemCaseSensitive(j, "data");
    ok = cJSON_IsObject(j) && cJSON_IsString(id)
        && ntf_id_valid(id->valuestring) && cJSON_IsString(type)
        && cJSON_IsString(at) && cJSON_IsObject(data)
        && cJSON_GetArraySize(j) == 4;
    cJSON_Delete(j);
    return ok;
}

/* Adds the string members of rep (at most limit) to the page. */
static int
ntf_inbox_take(struct gw_arena *a, const redisReply *rep, int64_t limit,
               struct ntf_page *pg)
{
    size_t i;

    pg->more = rep->elements > (size_t) limit;
    for (i = 0; i < rep->elements && i < (size_t) limit; i++) {
        const redisReply *e = rep->element[i];
        if (e->type != REDIS_REPLY_STRING
            || !ntf_inbox_member_ok(e->str, e->len)) {
            gw_log_warn(NULL, "inbox: skipped a member that is not an item");
            continue;
        }
        if ((pg->items->len > 0 && gw_buf_append(pg->items, ",", 1) != 0)
            || gw_buf_append(pg->items, e->str, e->len) != 0) {
            return GW_ERROR;
        }
        pg->last_id = gw_arena_strndup(a, e->str + sizeof(NTF_ITEM_PREFIX) - 1,
                                       NTF_ID_LEN);
    }
    return GW_OK;
}

/* One page from Redis: newest first below the cursor, or since an id. */
static int
ntf_inbox_redis(struct gw_redis *r, struct gw_arena *a, const char *user,
                const struct ntf_inbox_query *q, struct ntf_page *pg)
{
    char        key[NTF_INBOX_KEY_MAX], log[NTF_INBOX_KEY_MAX];
    const char *max;
    redisReply *rep;
    int         rc, attempt;

    if (ntf_inbox_key(user, key, sizeof(key)) != 0
        || ntf_seq_key(user, log, sizeof(log)) != 0) {
        return GW_ERROR;
    }
    if (q->since == NULL) {
        max = q->cursor == NULL
            ? "+"
            : gw_arena_printf(a, "(" NTF_ITEM_PREFIX "%s", q->cursor);
        rc = gw_redis_cmd(r, a, &rep, "ZREVRANGEBYLEX %s %s - LIMIT 0 %lld",
                          key, max, (long long) q->limit + 1);
    } else {
        for (attempt = 0; attempt < 2; attempt++) {
            rc = gw_redis_cmd(r, a, &rep, "EVALSHA %s 2 %s %s %s %lld",
                              ntf_script_since_sha(), key, log, q->since,
                              (long long) q->limit + 1);
            if (rc != GW_ERROR || rep == NULL || rep->str == NULL
                || strncmp(rep->str, "NOSCRIPT", 8) != 0
                || ntf_scripts_load(r) != GW_OK) {
                break;
            }
        }
    }
    if (rc != GW_OK) {
        return rc == GW_EUNAVAIL ? GW_EUNAVAIL : GW_ERROR;
    }
    if (rep->type != REDIS_REPLY_ARRAY) {
        return GW_ERROR;
    }
    return ntf_inbox_take(a, rep, q->limit, pg);
}

/*
 * Redis down: the same page from the MariaDB outbox (money notifications
 * only; direct lobby events never reach MariaDB). Polling follows the
 * outbox's insert order, the closest MariaDB has to delivery order.
 */
static int
ntf_inbox_db(struct gw_db *db, struct gw_arena *a, const char *user,
             const struct ntf_inbox_query *q, struct ntf_page *pg)
{
    struct ntf_item it;
    MYSQL_RES      *res;
    MYSQL_ROW       row;
    int64_t         n = 0;
    int             rc;

    if (q->since != NULL) {
        rc = gw_db_query(
            db, a, &res,
            "SELECT notif_id, user_id, type, payload,"
            " TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at) DIV 1000"
            " FROM outbox WHERE user_id = %s AND id > COALESCE((SELECT id"
            " FROM outbox WHERE notif_id = %s AND user_id = %s), 0)"
            " ORDER BY id LIMIT %lld",
            user, q->since, user, (long long) q->limit + 1);
    } else {
        rc = gw_db_query(
            db, a, &res,
            "SELECT notif_id, user_id, type, payload,"
            " TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at) DIV 1000"
            " FROM outbox WHERE user_id = %s AND notif_id < %s"
            " ORDER BY notif_id DESC LIMIT %lld",
            user, q->cursor != NULL ? q->cursor : "g",
            (long long) q->limit + 1);
    }
    if (rc != GW_OK) {
        return rc;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        if (n++ == q->limit) {
            pg->more = 1;
            break;
        }
        it.id = gw_db_col_str(row, 0), it.user = gw_db_col_str(row, 1);
        it.type = gw_db_col_str(row, 2), it.payload = gw_db_col_str(row, 3);
        it.created_ms = gw_db_col_i64(row, 4);
        if ((pg->items->len > 0 && gw_buf_append(pg->items, ",", 1) != 0)
            || ntf_item_json(&it, pg->items) != 0) {
            return GW_ERROR;
        }
        pg->last_id = gw_arena_strdup(a, it.id);
    }
    return GW_OK;
}

/* "id" or null into body. */
static int
ntf_inbox_id_or_null(struct gw_buf *body, const char *id)
{
    return id == NULL ? gw_buf_appends(body, "null")
                      : gw_buf_printf(body, "\"%s\"", id);
}

int
ntf_inbox_page(struct gw_redis *redis, struct gw_db *db, struct gw_arena *a,
               const char *user, const struct ntf_inbox_query *q,
               struct gw_buf *body, const char **source)
{
    struct ntf_page pg = {0};
    const char     *next;
    int             rc;

    pg.items = gw_arena_buf_new(a);
    if (pg.items == NULL) {
        return GW_ERROR;
    }
    *source = "redis";
    rc = ntf_inbox_redis(redis, a, user, q, &pg);
    if (rc == GW_EUNAVAIL) {
        *source = "mysql";
        memset(&pg, 0, sizeof(pg));
        pg.items = gw_arena_buf_new(a);
        rc = pg.items == NULL ? GW_ERROR : ntf_inbox_db(db, a, user, q, &pg);
    }
    if (rc != GW_OK) {
        return rc;
    }
    if (gw_buf_appends(body, "{\"items\":[") != 0
        || gw_buf_append(body, pg.items->data ? pg.items->data : "",
                         pg.items->len)
            != 0) {
        return GW_ERROR;
    }
    if (q->since != NULL) {
        /* Nothing new: poll again with the same id. */
        next = pg.last_id != NULL ? pg.last_id : q->since;
        rc = gw_buf_appends(body, "],\"next_since\":") != 0
            || ntf_inbox_id_or_null(body, next) != 0;
    } else {
        next = pg.more ? pg.last_id : NULL;
        rc = gw_buf_appends(body, "],\"next_cursor\":") != 0
            || ntf_inbox_id_or_null(body, next) != 0
            || gw_buf_appends(body, ",\"next_after\":") != 0
            || ntf_inbox_id_or_null(body, next) != 0;
    }
    if (rc != 0 || gw_buf_appends(body, "}") != 0) {
        return GW_ERROR;
    }
    return GW_OK;
}
