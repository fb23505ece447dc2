/*
 * svc_store.c — catalog browsing: cached, ETag'd replies for the hot paths
 * (docs/store.md), previews, and helpers shared by the store handlers.
 */
#include <string.h>

#include "cat.h"
#include "cat_cache.h"
#include "cat_internal.h"
#include "cat_frag.h"
#include "cat_link.h"
#include "gw_json.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"
#include "store.h"
#include "svc_store.h"
#include "svc_store_internal.h"

/* Renders a reply body into r's arena for catalog generation *gen (the
 * host's copy); a renderer that read the generation itself sets *gen to
 * the one its body is of. */
typedef int (*svc_render_pt)(struct gw_request *r, void *arg, int64_t *gen,
                             const char **body);

/* Rendered item objects of the host (shared memory mapped before the
 * fork, filled by every worker; [catalog] fragment_cache turns their use
 * off). */
static struct cat_frag_cache *svc_frags;

int
svc_store_init(const struct gw_config *cfg)
{
    if (svc_frags == NULL
        && (svc_frags =
                cat_frag_new((size_t) cfg->catalog.fragment_cache_mb << 20))
            == NULL) {
        return -1; /* SIGHUP re-runs the init chain: keep the cache */
    }
    return cat_cache_init() == 0 && store_init() == 0 ? 0 : -1;
}

/* A rendered tree (or rc's error) as the body. */
static int
svc_render_tree(struct gw_request *r, int rc, cJSON *tree, const char **body)
{
    if (rc != GW_OK) {
        cJSON_Delete(tree);
        return rc;
    }
    gw_json_own(r->arena, tree);
    *body = gw_json_print(r->arena, tree);
    return *body != NULL ? GW_OK : GW_ERROR;
}

void
svc_store_ctx(struct gw_request *r, struct store_ctx *ctx)
{
    store_ctx_init(ctx, &r->thr->db, r->arena, r->cfg,
                   r->caller ? r->caller : "anonymous", r->request_id);
}

int
svc_store_refused(struct gw_request *r, const struct store_ctx *ctx, int rc)
{
    if (rc == GW_OK || ctx->detail[0] == '\0') {
        return rc;
    }
    gw_request_problem(r, "%s", ctx->detail);
    if (rc == GW_EPRICE) {
        r->problem_extra = gw_json_own(r->arena, cJSON_CreateObject());
        if (r->problem_extra) {
            cJSON_AddNumberToObject(r->problem_extra, "price",
                                    (double) ctx->price);
        }
    }
    return rc;
}

int
svc_store_reply(struct gw_request *r, int status, cJSON *body)
{
    int rc = gw_reply_json(r, status, body);

    cJSON_Delete(body);
    return rc == 0 ? GW_OK : GW_ERROR;
}

int
svc_store_id_param(struct gw_request *r, size_t n, int64_t *id)
{
    const char *s = gw_request_route_param(r, n);

    if (s == NULL || gw_parse_i64(s, strlen(s), id) != 0 || *id < 1) {
        gw_request_problem(r, "no such object");
        return GW_ENOTFOUND;
    }
    return GW_OK;
}

int
svc_store_limit(struct gw_request *r, int64_t *limit)
{
    const char *l = gw_request_arg(r, "limit");

    *limit = CAT_PAGE_LIMIT_DEFAULT;
    if (l != NULL
        && (gw_parse_i64(l, strlen(l), limit) != 0 || *limit < 1
            || *limit > CAT_PAGE_LIMIT_MAX)) {
        gw_request_problem(r, "limit must be an integer 1..%d",
                           CAT_PAGE_LIMIT_MAX);
        return GW_EINVAL;
    }
    return GW_OK;
}

int
svc_store_page_args(struct gw_request *r, int64_t *limit, int *has_cursor,
                    int64_t *after_id)
{
    const char *c = gw_request_arg(r, "cursor");
    int64_t     key;
    int         rc = svc_store_limit(r, limit);

    if (rc != GW_OK) {
        return rc;
    }
    *has_cursor = c != NULL;
    *after_id = 0;
    if (c != NULL && cat_cursor_decode(c, CAT_SORT_NEW, &key, after_id) != 0) {
        gw_request_problem(r, "invalid cursor");
        return GW_EINVAL;
    }
    return GW_OK;
}

cJSON *
svc_store_link_json_new(struct gw_request *r, int64_t entitlement_id,
                        const char *format)
{
    struct cat_link link;
    char            token[CAT_LINK_TOKEN_MAX], url[CAT_LINK_TOKEN_MAX + 32];
    char            exp[32];
    cJSON          *o;

    link.entitlement_id = entitlement_id;
    link.format = format;
    link.expires_s = gw_now_s() + r->cfg->downloads.link_ttl_s;
    if (cat_link_sign(r->cfg->download_secret, r->cfg->download_secret_len,
                      &link, token, sizeof(token))
            != 0
        || (o = cJSON_CreateObject()) == NULL) {
        return NULL;
    }
    snprintf(url, sizeof(url), "/v1/downloads/%s", token);
    gw_time_rfc3339(link.expires_s, exp, sizeof(exp));
    cJSON_AddStringToObject(o, "url", url);
    cJSON_AddStringToObject(o, "format", format);
    cJSON_AddStringToObject(o, "expires_at", exp);
    return o;
}

struct cat_frag_cache *
svc_store_frags(struct gw_request *r)
{
    return r->cfg->catalog.fragment_cache ? svc_frags : NULL;
}

/* 304 when If-None-Match lists etag (or is "*"). */
static int
svc_catalog_not_modified(struct gw_request *r, const char *etag)
{
    const char *inm = gw_request_param(r, "HTTP_IF_NONE_MATCH");

    return inm != NULL && (strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL);
}

/*
 * The cached-reply path of every catalog GET: key + generation → body and
 * ETag; on a miss, render, store, reply. Errors are never cached.
 */
static int
svc_catalog_cached(struct gw_request *r, const char *key, svc_render_pt fn,
                   void *arg)
{
    struct gw_db *db = &r->thr->db;
    const char   *body, *etag;
    size_t        len;
    char          tag[CAT_ETAG_MAX];
    int64_t       gen = cat_cache_generation(db, r->arena);
    int           rc, found;

    found = cat_cache_lookup(key, gen, r->arena, &body, &len, &etag);
    if (found == CAT_CACHE_FILL || found == CAT_CACHE_MISS) {
        rc = fn(r, arg, &gen, &body);
        if (rc != GW_OK) {
            if (found == CAT_CACHE_FILL) {
                cat_cache_abandon(key); /* errors are never cached */
            }
            return rc;
        }
        len = strlen(body);
        cat_cache_etag(body, len, tag);
        etag = tag;
        cat_cache_put(key, gen, body, len, etag);
    }
    gw_reply_header(r, "ETag", etag);
    gw_reply_header(r, "Cache-Control", "public, max-age=0, must-revalidate");
    if (svc_catalog_not_modified(r, etag)) {
        return gw_reply_raw(r, 304, NULL, "", 0) == 0 ? GW_OK : GW_ERROR;
    }
    return gw_reply_raw(r, 200, "application/json", body, len) == 0 ? GW_OK
                                                                    : GW_ERROR;
}

static int
svc_render_items(struct gw_request *r, void *arg, int64_t *gen,
                 const char **body)
{
    return cat_items_page_render(&r->thr->db, r->arena, arg, svc_store_frags(r),
                                 gen, body);
}

static int
svc_catalog_query(struct gw_request *r, struct cat_query *q)
{
    const char *kind = gw_request_arg(r, "kind"), *c;
    const char *cursor = gw_request_arg(r, "cursor");

    memset(q, 0, sizeof(*q));
    if (kind != NULL && strcmp(kind, "ringtone") != 0
        && strcmp(kind, "game") != 0) {
        gw_request_problem(r, "kind must be ringtone or game");
        return GW_EINVAL;
    }
    q->kind = kind;
    q->category = gw_request_arg(r, "category");
    q->q = gw_request_arg(r, "q");
    if (q->q != NULL && q->q[0] == '\0') {
        q->q = NULL;
    }
    for (c = q->q; c != NULL && *c != '\0'; c++) {
        if ((unsigned char) *c < 0x20) {
            gw_request_problem(r, "q has control characters");
            return GW_EINVAL;
        }
    }
    if (q->q != NULL && !gw_utf8_valid(q->q, strlen(q->q))) {
        gw_request_problem(r, "q is not valid UTF-8");
        return GW_EINVAL;
    }
    if ((q->q != NULL && strlen(q->q) > CAT_QUERY_BYTES_MAX)
        || (q->category != NULL && strlen(q->category) > CAT_SLUG_MAX)) {
        gw_request_problem(r, "q or category too long or malformed");
        return GW_EINVAL;
    }
    if (cat_sort_parse(gw_request_arg(r, "sort"), &q->sort) != 0) {
        gw_request_problem(r,
                           "sort must be popular, new, price_asc or"
                           " price_desc");
        return GW_EINVAL;
    }
    q->has_cursor = cursor != NULL;
    if (cursor != NULL
        && cat_cursor_decode(cursor, q->sort, &q->after_key, &q->after_id)
            != 0) {
        gw_request_problem(r, "invalid cursor (or another sort's)");
        return GW_EINVAL;
    }
    return GW_OK;
}

int
svc_catalog_items(struct gw_request *r)
{
    struct cat_query q;
    int              rc;
    const char      *key;

    rc = svc_catalog_query(r, &q);
    if (rc == GW_OK) {
        rc = svc_store_limit(r, &q.limit);
    }
    if (rc != GW_OK) {
        return rc;
    }
    key = cat_query_key(r->arena, &q);
    return key ? svc_catalog_cached(r, key, svc_render_items, &q) : GW_ERROR;
}

static int
svc_render_item(struct gw_request *r, void *arg, int64_t *gen,
                const char **body)
{
    struct cat_item it;
    int             rc;

    (void) gen;
    rc = cat_item_find(&r->thr->db, r->arena, *(int64_t *) arg, 1, &it);
    if (rc == GW_ENOTFOUND) {
        gw_request_problem(r, "no such item");
    }
    return svc_render_tree(r, rc, rc == GW_OK ? cat_item_json_new(&it) : NULL,
                           body);
}

int
svc_catalog_item(struct gw_request *r)
{
    int64_t     id;
    const char *key;
    int         rc = svc_store_id_param(r, 0, &id);

    if (rc != GW_OK) {
        return rc;
    }
    key = gw_arena_printf(r->arena, "item\x1f%lld", (long long) id);
    return key ? svc_catalog_cached(r, key, svc_render_item, &id) : GW_ERROR;
}

static int
svc_render_categories(struct gw_request *r, void *arg, int64_t *gen,
                      const char **body)
{
    cJSON *tree = NULL;
    int    rc = cat_categories_new(&r->thr->db, r->arena, &tree);

    (void) arg;
    (void) gen;
    return svc_render_tree(r, rc, tree, body);
}

int
svc_catalog_categories(struct gw_request *r)
{
    return svc_catalog_cached(r, "categories", svc_render_categories, NULL);
}

struct svc_chart_args {
    const char *kind;
    int         week;
};

static int
svc_render_charts(struct gw_request *r, void *arg, int64_t *gen,
                  const char **body)
{
    struct svc_chart_args *c = arg;
    cJSON                 *tree = NULL;
    int                    rc;

    (void) gen;
    rc = cat_charts_new(&r->thr->db, r->arena, c->kind, c->week,
                        r->cfg->billing.day_offset_min, &tree);
    return svc_render_tree(r, rc, tree, body);
}

int
svc_catalog_charts(struct gw_request *r)
{
    struct svc_chart_args c;
    const char           *period = gw_request_arg(r, "period"), *key;

    c.kind = gw_request_arg(r, "kind");
    if (c.kind != NULL && strcmp(c.kind, "ringtone") != 0
        && strcmp(c.kind, "game") != 0) {
        gw_request_problem(r, "kind must be ringtone or game");
        return GW_EINVAL;
    }
    if (period != NULL && strcmp(period, "day") != 0
        && strcmp(period, "week") != 0) {
        gw_request_problem(r, "period must be day or week");
        return GW_EINVAL;
    }
    c.week = period != NULL && strcmp(period, "week") == 0;
    key = gw_arena_printf(r->arena, "charts\x1f%s\x1f%d", c.kind ? c.kind : "",
                          c.week);
    return key ? svc_catalog_cached(r, key, svc_render_charts, &c) : GW_ERROR;
}

int
svc_store_preview(struct gw_request *r)
{
    struct cat_item it;
    int64_t         id;
    const char     *loc;
    int             rc = svc_store_id_param(r, 0, &id);

    if (rc == GW_OK) {
        rc = cat_item_find(&r->thr->db, r->arena, id, 1, &it);
    }
    if (rc == GW_OK && it.preview_path == NULL) {
        rc = GW_ENOTFOUND;
    }
    if (rc != GW_OK) {
        if (rc == GW_ENOTFOUND) {
            gw_request_problem(r, "no preview for this item");
        }
        return rc;
    }
    loc = gw_arena_printf(r->arena, "%s%s", r->cfg->downloads.internal_prefix,
                          it.preview_path);
    if (loc == NULL || gw_reply_header(r, "X-Accel-Redirect", loc) != 0) {
        return GW_ERROR;
    }
    gw_reply_header(r, "Cache-Control", "public, max-age=3600");
    return gw_reply_raw(r, 200, "audio/mpeg", "", 0) == 0 ? GW_OK : GW_ERROR;
}
