/*
 * svc_ops.c — health, readiness and metrics.
 */
#include <string.h>
#include <time.h>

#include "gw_arena.h"
#include "gw_metrics.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "svc_ops.h"

int
svc_ops_healthz(struct gw_request *r)
{
    static const char body[] = "{\"status\":\"ok\"}";

    gw_reply_header(r, "Cache-Control", "no-store");
    return gw_reply_raw(r, 200, "application/json", body, sizeof(body) - 1);
}

int
svc_ops_readyz(struct gw_request *r)
{
    int db = gw_db_ping(&r->thr->db);
    int redis = gw_redis_ping(&r->thr->redis);

    gw_reply_header(r, "Cache-Control", "no-store");
    if (db != GW_OK || redis != GW_OK) {
        gw_request_problem(r, "mysql: %s, redis: %s",
                           db == GW_OK ? "ok" : "down",
                           redis == GW_OK ? "ok" : "down");
        return GW_EUNAVAIL;
    }
    static const char body[] = "{\"status\":\"ready\",\"mysql\":\"ok\","
                               "\"redis\":\"ok\"}";
    return gw_reply_raw(r, 200, "application/json", body, sizeof(body) - 1);
}

int
svc_ops_metrics(struct gw_request *r)
{
    struct gw_buf *b = gw_arena_buf_new(r->arena);

    if (b == NULL || gw_metrics_render(b) != 0) {
        return GW_ERROR;
    }
    return gw_reply_raw(r, 200, "text/plain; version=0.0.4", b->data, b->len);
}

int
svc_ops_debug_sleep(struct gw_request *r)
{
    const char     *ms_s = gw_request_arg(r, "ms");
    int64_t         ms = 100;
    struct timespec ts;

    if (!r->cfg->server.debug_routes) {
        gw_request_problem(r, "no such resource");
        return GW_ENOTFOUND;
    }
    if (ms_s != NULL
        && (gw_parse_i64(ms_s, strlen(ms_s), &ms) != 0 || ms < 0
            || ms > 10000)) {
        gw_request_problem(r, "ms must be 0..10000");
        return GW_EINVAL;
    }
    ts.tv_sec = (time_t) (ms / 1000);
    ts.tv_nsec = (long) (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
    static const char body[] = "{\"slept\":true}";
    return gw_reply_raw(r, 200, "application/json", body, sizeof(body) - 1);
}
