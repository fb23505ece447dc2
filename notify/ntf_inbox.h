/*
 * ntf_inbox.h — reading a user's inbox (GET /v1/notifications; the handler
 * in services/svc_notify.c only parses the request and sends the body).
 *
 * Two ways to read (docs/notifications.md):
 *   newest first   no since: the newest items, then older pages with
 *                  cursor=<next_cursor> (after=<id> is the old name of the
 *                  same cursor and still works);
 *   polling        since=<id>: the items delivered after that one, oldest
 *                  first, then since=<next_since> again. Every notification
 *                  is seen once, in delivery order (ntf_wire.h's log).
 * Items come from Redis; while Redis is down, money notifications come from
 * the MariaDB outbox (*source says which). Members that do not parse as an
 * item (planted or damaged) are skipped, so the body is always valid JSON.
 *
 * Thread-safety: uses only the caller's connections and arena.
 */
#ifndef NTF_INBOX_H
#define NTF_INBOX_H

#include <stdint.h>

struct gw_arena;
struct gw_buf;
struct gw_db;
struct gw_redis;

#define NTF_INBOX_LIMIT_DEFAULT 20
#define NTF_INBOX_LIMIT_MAX     100

struct ntf_inbox_query {
    const char *since;  /* polling: NULL or an id */
    const char *cursor; /* newest first: NULL or the id to continue below */
    int64_t     limit;
};

/*
 * Checks the query arguments (each NULL when absent): since, cursor, after
 * (alias of cursor), limit (1..NTF_INBOX_LIMIT_MAX). GW_OK or GW_EINVAL
 * with a static reason in *why.
 */
int ntf_inbox_query_parse(const char *since, const char *cursor,
                          const char *after, const char *limit_s,
                          struct ntf_inbox_query *q, const char **why);

/*
 * One page of user's inbox as the response body, appended to body:
 *   {"items":[…],"next_cursor":id|null,"next_after":id|null}  or, polling,
 *   {"items":[…],"next_since":id|null}
 * *source is "redis" or "mysql". GW_OK, GW_EUNAVAIL (both down), GW_ERROR.
 */
int ntf_inbox_page(struct gw_redis *redis, struct gw_db *db, struct gw_arena *a,
                   const char *user, const struct ntf_inbox_query *q,
                   struct gw_buf *body, const char **source);

#endif /* NTF_INBOX_H */
