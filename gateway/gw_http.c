/*
 * gw_http.c — from FastCGI params to a reply, without knowing FastCGI.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "gw_auth.h"
#include "gw_http.h"
#include "gw_idem.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_ratelimit.h"
#include "gw_slowlog.h"
#include "gw_router.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"

void
gw_http_init(struct gw_request *r, struct gw_thread *t, char **envp)
{
    memset(r, 0, offsetof(struct gw_request, headers));
    r->headers[0] = '\0';
    r->headers_len = 0;
    r->problem_detail = NULL;
    r->problem_extra = NULL;
    r->replayed = 0;
    r->problem_code = NULL;
    r->location = NULL;
    r->arena = &t->arena;
    r->thr = t;
    r->cfg = t->cfg;
    r->envp = envp;
    r->route_index = -1;
    r->started_us = gw_mono_us();
}

static int
gw_http_request_id_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++) {
        char c = s[i];
        if (i >= GW_REQUEST_ID_MAX
            || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                 || (c >= '0' && c <= '9') || c == '-' || c == '_'
                 || c == '.')) {
            return 0;
        }
    }
    return i > 0;
}

/*
 * Request ids need to be unique, not secret: a per-thread xorshift64*
 * seeded once from the kernel saves a getrandom(2) on every request.
 */
static uint64_t
gw_http_id_next(void)
{
    static __thread uint64_t s;

    if (s == 0 && (gw_random_bytes(&s, sizeof(s)) != 0 || s == 0)) {
        s = (uint64_t) gw_mono_us() | 1;
    }
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
}

static void
gw_http_request_id(struct gw_request *r)
{
    const char   *in = gw_request_param(r, "HTTP_X_REQUEST_ID");
    uint64_t      a, b;
    unsigned char raw[12];

    if (in != NULL && gw_http_request_id_ok(in)) {
        memcpy(r->request_id, in, strlen(in) + 1);
        return;
    }
    a = gw_http_id_next();
    b = gw_http_id_next();
    memcpy(raw, &a, 8);
    memcpy(raw + 8, &b, 4);
    gw_hex_encode(raw, sizeof(raw), r->request_id);
}

static int
gw_http_trusted(const struct gw_request *r)
{
    const char *list = r->cfg->server.metrics_trusted, *p;
    size_t      n;

    n = r->remote_addr != NULL ? strlen(r->remote_addr) : 0;
    if (n == 0) {
        return 0; /* strstr(p, "") would never advance */
    }
    for (p = list; (p = strstr(p, r->remote_addr)) != NULL; p += n) {
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) {
            return 1;
        }
    }
    return 0;
}

int
gw_http_prepare(struct gw_request *r, size_t *body_max)
{
    char        allow[128];
    const char *cl;
    int         idx, rc;

    *body_max = 0;
    r->method = gw_request_param(r, "REQUEST_METHOD");
    r->path = gw_request_param(r, "DOCUMENT_URI");
    r->query = gw_request_param(r, "QUERY_STRING");
    r->remote_addr = gw_request_param(r, "REMOTE_ADDR");
    gw_http_request_id(r);
    if (r->method == NULL) {
        r->method = "GET";
    }
    if (r->path == NULL) {
        r->path = "/";
    }
    if (strlen(r->path) > GW_PATH_BYTES_MAX) {
        gw_request_problem(r, "path too long");
        return GW_EINVAL;
    }

    idx = gw_router_match(r->arena, r->method, r->path, r->route_params,
                          &r->nroute_params, allow, sizeof(allow));
    if (idx == -2) {
        gw_reply_header(r, "Allow", allow);
        gw_request_problem(r, "%s is not allowed here; allowed: %s", r->method,
                           allow);
        return GW_EMETHOD;
    }
    if (idx < 0) {
        gw_request_problem(r, "no such resource");
        return GW_ENOTFOUND;
    }
    r->route_index = idx;
    r->route = gw_router_get((size_t) idx);

    if ((r->route->flags & GW_ROUTE_TRUSTED) && !gw_http_trusted(r)) {
        gw_request_problem(r, "not available from this address");
        return GW_EFORBIDDEN;
    }
    rc = gw_request_parse_query(r);
    if (rc != GW_OK) {
        if (r->problem_detail == NULL) {
            gw_request_problem(r, "malformed query string");
        }
        return rc;
    }

    *body_max = r->route->body_max ? r->route->body_max
                                   : (size_t) r->cfg->limits.body_max_bytes;
    cl = gw_request_param(r, "CONTENT_LENGTH");
    if (cl != NULL && cl[0] != '\0') {
        if (gw_parse_i64(cl, strlen(cl), &r->content_length) != 0
            || r->content_length < 0) {
            gw_request_problem(r, "bad Content-Length");
            return GW_EINVAL;
        }
        if ((uint64_t) r->content_length > *body_max) {
            gw_request_problem(r, "request body over %zu bytes", *body_max);
            return GW_ETOOLARGE;
        }
    }
    return GW_OK;
}

/* "Bearer xyz" → "xyz" (NULL when absent or another scheme). */
static const char *
gw_http_bearer(const struct gw_request *r)
{
    const char *h = gw_request_param(r, "HTTP_AUTHORIZATION");

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        return NULL;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    return *h ? h : NULL;
}

static int
gw_http_auth_user(struct gw_request *r, const char *token)
{
    struct gw_jwt_claims claims;
    enum gw_jwt_result   res;

    res = gw_auth_jwt_verify(r->cfg->token_secret, r->cfg->token_secret_len,
                             token, strlen(token), gw_now_s(),
                             r->cfg->auth.clock_skew_s, &claims);
    if (res != GW_JWT_OK) {
        gw_request_problem(r, "%s", gw_auth_jwt_reason(res));
        return GW_EUNAUTHORIZED;
    }
    r->user_id = gw_arena_strdup(r->arena, claims.sub);
    r->caller = gw_arena_printf(r->arena, "u:%s", claims.sub);
    return GW_OK;
}

/*
 * Admin key → id, remembered per thread for GW_ADMIN_KEY_CACHE_MS: admin
 * traffic is one or a few keys, and a lookup is a database round trip on
 * every money call. A revoked key stops working within that time.
 */
static int
gw_http_admin_key(struct gw_request *r, const char *token, int64_t *key_id)
{
    struct gw_thread *t = r->thr;
    char              hash[65];
    int64_t           now = gw_now_ms();
    int               rc;

    gw_auth_admin_key_hash(token, strlen(token), hash);
    if (t->admin_cache.id > 0 && strcmp(t->admin_cache.hash, hash) == 0
        && now - t->admin_cache.checked_ms < GW_ADMIN_KEY_CACHE_MS) {
        *key_id = t->admin_cache.id;
        return GW_OK;
    }
    rc = gw_auth_admin_key_find(&t->db, r->arena, token, strlen(token), key_id);
    if (rc == GW_OK && *key_id > 0) {
        memcpy(t->admin_cache.hash, hash, sizeof(hash));
        t->admin_cache.id = *key_id;
        t->admin_cache.checked_ms = now;
    }
    return rc;
}

static int
gw_http_auth(struct gw_request *r)
{
    const char *token = gw_http_bearer(r);
    int64_t     key_id;
    int         rc;

    if (!(r->route->flags & (GW_ROUTE_USER | GW_ROUTE_ADMIN))) {
        return GW_OK;
    }
    if (token == NULL) {
        gw_request_problem(r, "missing bearer token");
        return GW_EUNAUTHORIZED;
    }
    if (r->route->flags & GW_ROUTE_USER) {
        return gw_http_auth_user(r, token);
    }
    rc = gw_http_admin_key(r, token, &key_id);
    if (rc != GW_OK) {
        return rc == GW_EUNAVAIL ? rc : GW_ERROR;
    }
    if (key_id > 0) {
        r->admin_key_id = key_id;
        r->caller = gw_arena_printf(r->arena, "a:%lld", (long long) key_id);
        return GW_OK;
    }
    /* A valid IM user token on an admin route is a 403, not a 401. */
    if (gw_http_auth_user(r, token) == GW_OK) {
        gw_request_problem(r, "admin API key required");
        r->user_id = NULL;
        return GW_EFORBIDDEN;
    }
    gw_request_problem(r, "invalid admin API key");
    return GW_EUNAUTHORIZED;
}

/* 1 when the Content-Type is application/json (parameters allowed). */
static int
gw_http_is_json(const struct gw_request *r)
{
    const char *ct = gw_request_param(r, "CONTENT_TYPE");
    size_t      n = sizeof("application/json") - 1;

    if (ct == NULL || strncasecmp(ct, "application/json", n) != 0) {
        return 0;
    }
    ct += n;
    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    return *ct == '\0' || *ct == ';';
}

/*
 * 1 when the header behind param name came more than once: nginx 1.22
 * passes each line of a repeated header as its own parameter, and the
 * first (gw_request_param) need not be the one a client or cache keyed on.
 */
static int
gw_http_param_repeated(const struct gw_request *r, const char *name)
{
    size_t n = strlen(name), seen = 0;
    char **e;

    for (e = r->envp; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=' && ++seen > 1) {
            return 1;
        }
    }
    return 0;
}

static int
gw_http_body(struct gw_request *r)
{
    const char *why = NULL;
    int         rc;

    if (!(r->route->flags & GW_ROUTE_JSON)) {
        return GW_OK;
    }
    if (r->body_len > 0 && !gw_http_is_json(r)) {
        gw_request_problem(r, "the body must be sent as application/json");
        return GW_EMEDIA;
    }
    rc = gw_json_parse(r->arena, r->body ? r->body : "", r->body_len,
                       (int) r->cfg->limits.json_depth_max, &r->json, &why);
    if (rc == GW_OK && !cJSON_IsObject(r->json)) {
        why = "request body must be a JSON object";
        rc = GW_EINVAL;
    }
    if (rc != GW_OK && why != NULL) {
        gw_request_problem(r, "%s", why);
    }
    return rc;
}

void
gw_http_fail(struct gw_request *r, int rc)
{
    if (gw_status_http(rc) == 401) {
        /* RFC 6750 section 3: a token was sent and refused, or none was. */
        gw_reply_header(r, "WWW-Authenticate",
                        gw_request_param(r, "HTTP_AUTHORIZATION") != NULL
                            ? "Bearer realm=\"vas\", error=\"invalid_token\""
                            : "Bearer realm=\"vas\"");
    }
    r->problem_code = gw_status_code(rc);
    if (gw_reply_problem(r, rc) != 0) {
        static const char oom[] = "{\"status\":500,\"code\":\"internal\"}";
        gw_reply_raw(r, 500, "application/problem+json", oom, sizeof(oom) - 1);
    }
}

void
gw_http_run(struct gw_request *r)
{
    int rc;

    r->thr->db.rid = r->request_id;
    r->thr->redis.rid = r->request_id;

    rc = gw_http_auth(r);
    /* Also after a failed authentication: the address bucket then limits
     * token guessing. One Redis round trip for both buckets. */
    if (rc == GW_OK || rc == GW_EUNAUTHORIZED) {
        int rl = gw_ratelimit_take(r);
        rc = rl != GW_OK ? rl : rc;
    }
    if (rc == GW_OK) {
        rc = gw_http_body(r);
    }
    if (rc == GW_OK && (r->route->flags & GW_ROUTE_IDEMPOTENT)) {
        r->idem_key = gw_request_param(r, "HTTP_IDEMPOTENCY_KEY");
        if (r->idem_key == NULL) {
            gw_request_problem(r,
                               "this request needs an Idempotency-Key"
                               " header");
        }
        if (gw_http_param_repeated(r, "HTTP_IDEMPOTENCY_KEY")) {
            gw_request_problem(r, "send one Idempotency-Key header");
            rc = GW_EINVAL;
        } else {
            rc = gw_idem_begin(r);
        }
        if (rc == GW_IDEM_REPLAYED) {
            gw_idem_end(r);
            return;
        }
    }
    if (rc == GW_OK) {
        rc = r->route->handler(r);
        if (rc == GW_IDEM_REPLAYED) {
            rc = GW_OK; /* gw_idem_claim loaded the stored reply */
        } else if (rc == GW_OK && r->status == 0) {
            gw_log_error(r->request_id, "handler of %s set no reply",
                         r->route->pattern);
            rc = GW_ERROR;
        }
        if (rc == GW_OK && r->status == 201 && r->location != NULL) {
            gw_reply_header(r, "Location", r->location);
        }
    }
    if (r->thr->db.in_txn) {
        /* A handler must close what it opens; a leftover is our bug. */
        gw_log_error(r->request_id, "transaction left open by %s",
                     r->route->pattern);
        gw_db_rollback(&r->thr->db);
    }
    gw_idem_end(r);
    if (rc != GW_OK) {
        gw_http_fail(r, rc);
    }
}

void
gw_http_finish(struct gw_request *r)
{
    struct gw_log_access_rec a = {0};
    int64_t                  dur = gw_mono_us() - r->started_us;
    const char              *path = r->path;

    /* A download token in the path is a working credential. */
    if (r->route != NULL && (r->route->flags & GW_ROUTE_SECRET_PATH)) {
        path = r->route->pattern;
    }
    gw_metrics_observe(r->route_index, r->status, dur);

    gw_slowlog_note(r->request_id, r->method,
                    r->route ? r->route->pattern : "-", path, r->status, dur);
    if (r->route == NULL || !(r->route->flags & GW_ROUTE_NOLOG)) {
        a.rid = r->request_id;
        a.method = r->method ? r->method : "-";
        a.route = r->route ? r->route->pattern : "-";
        a.path = path;
        a.status = r->status;
        a.dur_us = dur;
        a.bytes_in = (int64_t) r->body_len;
        a.bytes_out = (int64_t) r->reply_len;
        a.user = r->user_id ? r->user_id : r->caller;
        a.code = r->problem_code;
        a.addr = r->remote_addr;
        a.ua = gw_request_param(r, "HTTP_USER_AGENT");
        gw_log_access(&a);
    }
    r->thr->db.rid = NULL;
    r->thr->redis.rid = NULL;
    gw_arena_reset(r->arena);
}
