/*
 * fuzz_request.c — libFuzzer harness for the request path up to the
 * handler: FastCGI params → gw_http_prepare (request id, routing, 404/405,
 * trusted addresses, query parsing, Content-Length) → the problem+json.
 *
 * Input: newline-separated fields METHOD, DOCUMENT_URI, QUERY_STRING,
 * REMOTE_ADDR, CONTENT_LENGTH, X-Request-Id (missing fields are absent
 * params). Invariants checked: no crash/hang/leak/UB; every error reply is
 * a JSON object in valid UTF-8 whose "status" equals the HTTP status; the
 * request id is 1..64 safe characters; a 405 carries an Allow header.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_config.h"
#include "gw_http.h"
#include "gw_request.h"
#include "gw_router.h"
#include "gw_status.h"
#include "gw_thread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
h_ok(struct gw_request *r)
{
    return gw_reply_raw(r, 200, "application/json", "{}", 2);
}

static const struct gw_route routes[] = {
    {"GET", "/v1/catalog/items", h_ok, GW_ROUTE_PUBLIC, 0},
    {"GET", "/v1/catalog/items/{id}", h_ok, GW_ROUTE_PUBLIC, 0},
    {"POST", "/v1/purchases", h_ok, GW_ROUTE_USER | GW_ROUTE_JSON, 0},
    {"PATCH", "/v1/admin/subscribers/{msisdn}", h_ok, GW_ROUTE_ADMIN, 100},
    {"GET", "/v1/admin/subscribers/{msisdn}", h_ok, GW_ROUTE_ADMIN, 0},
    {"GET", "/metrics", h_ok, GW_ROUTE_TRUSTED, 0},
    {"GET", "/", h_ok, GW_ROUTE_PUBLIC, 0},
};

static const char *fields[] = {"REQUEST_METHOD", "DOCUMENT_URI",
                               "QUERY_STRING",   "REMOTE_ADDR",
                               "CONTENT_LENGTH", "HTTP_X_REQUEST_ID"};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static int
utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0, k, len;

    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4;
        else
            return 0;
        if (i + len > n)
            return 0;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        }
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f)
            || (c == 0xf0 && s[i + 1] < 0x90)
            || (c == 0xf4 && s[i + 1] > 0x8f)) {
            return 0;
        }
        i += len;
    }
    return 1;
}

static void
check_reply(const struct gw_request *r)
{
    cJSON       *j;
    const cJSON *st;
    size_t       i, n = strlen(r->request_id);

    if (n == 0 || n > GW_REQUEST_ID_MAX) {
        abort();
    }
    for (i = 0; i < n; i++) {
        char c = r->request_id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
            abort();
        }
    }
    if (r->reply_body == NULL
        || !utf8_valid((const unsigned char *) r->reply_body, r->reply_len)) {
        abort();
    }
    j = cJSON_ParseWithLength(r->reply_body, r->reply_len);
    if (j == NULL || !cJSON_IsObject(j)) {
        abort();
    }
    st = cJSON_GetObjectItemCaseSensitive(j, "status");
    if (!cJSON_IsNumber(st) || st->valueint != r->status) {
        abort();
    }
    cJSON_Delete(j);
    if (r->status == 405 && strstr(r->headers, "Allow: ") == NULL) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gw_config  cfg;
    static struct gw_thread  t;
    static int               ready;
    static struct gw_request r;
    char                    *env[NFIELDS + 1];
    size_t                   nenv = 0, i, start = 0, body_max;
    int                      rc;

    if (!ready) {
        char err[256];
        if (gw_config_load(&cfg, NULL, err, sizeof(err)) != 0
            || gw_thread_init(&t, &cfg, 0) != 0
            || gw_router_init(routes, sizeof(routes) / sizeof(routes[0]))
                != 0) {
            abort();
        }
        ready = 1;
    }
    /* Split into fields; a NUL ends a param value as it would in envp. */
    for (i = 0; i <= size && nenv < NFIELDS; i++) {
        if (i == size || data[i] == '\n') {
            size_t flen = strlen(fields[nenv]), vlen = i - start;
            char  *e = malloc(flen + 1 + vlen + 1);
            if (e == NULL) {
                break;
            }
            memcpy(e, fields[nenv], flen);
            e[flen] = '=';
            memcpy(e + flen + 1, data + start, vlen);
            e[flen + 1 + vlen] = '\0';
            env[nenv++] = e;
            start = i + 1;
        }
    }
    env[nenv] = NULL;

    gw_http_init(&r, &t, env);
    rc = gw_http_prepare(&r, &body_max);
    if (rc != GW_OK) {
        gw_http_fail(&r, rc);
        check_reply(&r);
    } else {
        if (r.route == NULL || r.route_index < 0
            || (uint64_t) r.content_length > body_max) {
            abort();
        }
        if (r.route->handler(&r) != GW_OK || r.status != 200) {
            abort();
        }
    }
    gw_arena_reset(&t.arena);

    /* The query parser alone on the raw input. */
    {
        char *q = malloc(size + 1);
        if (q != NULL) {
            memcpy(q, data, size);
            q[size] = '\0';
            gw_http_init(&r, &t, NULL);
            r.query = q;
            if (gw_request_parse_query(&r) == GW_OK
                && r.nargs > GW_QUERY_ARGS_MAX) {
                abort();
            }
            for (i = 0; i < r.nargs; i++) {
                if (gw_request_arg(&r, r.args[i].name) == NULL) {
                    abort();
                }
            }
            gw_arena_reset(&t.arena);
            free(q);
        }
    }
    for (i = 0; i < nenv; i++) {
        free(env[i]);
    }
    return 0;
}
