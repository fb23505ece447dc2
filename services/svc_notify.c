/*
 * svc_notify.c — request parsing and replies around notify/.
 */
#include <string.h>

#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "ntf_inbox.h"
#include "ntf_relay.h"
#include "ntf_webhook.h"
#include "ntf_wire.h"
#include "svc_notify.h"

#define SVC_NOTIFY_DEAD_DEFAULT 20

int
svc_notify_init(void)
{
    if (ntf_wire_init() != 0 || ntf_relay_metrics_register() != 0
        || ntf_webhook_metrics_register() != 0) {
        return -1;
    }
    return 0;
}

int
svc_notify_inbox(struct gw_request *r)
{
    struct ntf_inbox_query q;
    struct gw_buf         *body = gw_arena_buf_new(r->arena);
    const char            *why = NULL, *source = NULL;
    int                    rc;

    if (body == NULL) {
        return GW_ERROR;
    }
    rc = ntf_inbox_query_parse(
        gw_request_arg(r, "since"), gw_request_arg(r, "cursor"),
        gw_request_arg(r, "after"), gw_request_arg(r, "limit"), &q, &why);
    if (rc != GW_OK) {
        gw_request_problem(r, "%s", why);
        return rc;
    }
    r->thr->redis.rid = r->request_id;
    r->thr->db.rid = r->request_id;
    rc = ntf_inbox_page(&r->thr->redis, &r->thr->db, r->arena, r->user_id, &q,
                        body, &source);
    if (rc != GW_OK) {
        return rc;
    }
    gw_reply_header(r, "Cache-Control", "no-store");
    gw_reply_header(r, "Vas-Inbox-Source", source);
    return gw_reply_raw(r, 200, "application/json", body->data, body->len);
}

/* limit and before of the dead-letter page. */
static int
svc_notify_dead_args(struct gw_request *r, int64_t *limit, int64_t *before)
{
    const char *l = gw_request_arg(r, "limit"),
               *b = gw_request_arg(r, "before");

    *limit = SVC_NOTIFY_DEAD_DEFAULT;
    *before = 0;
    if (l != NULL
        && (gw_parse_i64(l, strlen(l), limit) != 0 || *limit < 1
            || *limit > NTF_WEBHOOK_DEAD_PAGE_MAX)) {
        gw_request_problem(r, "limit must be an integer from 1 to %d",
                           NTF_WEBHOOK_DEAD_PAGE_MAX);
        return GW_EINVAL;
    }
    if (b != NULL && (gw_parse_i64(b, strlen(b), before) != 0 || *before < 1)) {
        gw_request_problem(r,
                           "before must be a positive integer (the"
                           " next_before of the previous page)");
        return GW_EINVAL;
    }
    return GW_OK;
}

int
svc_notify_admin_status(struct gw_request *r)
{
    struct ntf_relay_backlog bl;
    struct gw_buf           *body = gw_arena_buf_new(r->arena);
    struct gw_buf           *dead = gw_arena_buf_new(r->arena);
    int64_t                  limit, before, next, total;
    int                      rc;

    if (body == NULL || dead == NULL) {
        return GW_ERROR;
    }
    rc = svc_notify_dead_args(r, &limit, &before);
    if (rc != GW_OK) {
        return rc;
    }
    r->thr->db.rid = r->request_id;
    rc = ntf_relay_backlog_get(&r->thr->db, r->arena, &bl);
    if (rc == GW_OK) {
        rc = ntf_webhook_dead_page(&r->thr->db, r->arena, before, limit, dead,
                                   &next, &total);
    }
    if (rc != GW_OK) {
        return rc;
    }
    if (gw_buf_printf(body,
                      "{\"relay\":{\"backlog\":%lld,\"oldest_age_ms\":%lld},"
                      "\"webhooks\":{\"dead_letters\":{\"total\":%lld,"
                      "\"items\":",
                      (long long) bl.count, (long long) bl.oldest_age_ms,
                      (long long) total)
            != 0
        || gw_buf_append(body, dead->data, dead->len) != 0
        || (next > 0 ? gw_buf_printf(body, ",\"next_before\":%lld}}}",
                                     (long long) next)
                     : gw_buf_appends(body, ",\"next_before\":null}}}"))
            != 0) {
        return GW_ERROR;
    }
    gw_reply_header(r, "Cache-Control", "no-store");
    return gw_reply_raw(r, 200, "application/json", body->data, body->len);
}
