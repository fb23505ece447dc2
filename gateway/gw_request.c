/*
 * gw_request.c — request accessors and reply builders.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gw_json.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_util.h"

const char *
gw_request_param(const struct gw_request *r, const char *name)
{
    size_t n = strlen(name);
    char **e;

    if (r->envp == NULL) {
        return NULL;
    }
    for (e = r->envp; *e != NULL; e++) {
        /* The first byte rules most params out without a call: a request
         * looks up about ten names among nginx's ~18 params. */
        if ((*e)[0] == name[0] && strncmp(*e, name, n) == 0 && (*e)[n] == '=') {
            return *e + n + 1;
        }
    }
    return NULL;
}

const char *
gw_request_route_param(const struct gw_request *r, size_t n)
{
    return n < r->nroute_params ? r->route_params[n] : NULL;
}

const char *
gw_request_arg(const struct gw_request *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->nargs; i++) {
        if (strcmp(r->args[i].name, name) == 0) {
            return r->args[i].value;
        }
    }
    return NULL;
}

static int
gw_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into the arena; NULL on a bad escape or NUL. */
static char *
gw_request_decode(struct gw_arena *a, const char *s, size_t n)
{
    char  *out = gw_arena_alloc(a, n + 1);
    size_t i, o = 0;
    int    hi, lo;

    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n) {
                return NULL;
            }
            hi = gw_hexval(s[i + 1]);
            lo = gw_hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return NULL;
            }
            out[o++] = (char) (hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

int
gw_request_parse_query(struct gw_request *r)
{
    const char *p = r->query, *amp, *eq;
    size_t      len;

    r->nargs = 0;
    if (p == NULL || *p == '\0') {
        return GW_OK;
    }
    if (strlen(p) > GW_QUERY_BYTES_MAX) {
        gw_request_problem(r, "query string over %d bytes", GW_QUERY_BYTES_MAX);
        return GW_EINVAL;
    }
    while (*p) {
        amp = strchr(p, '&');
        len = amp ? (size_t) (amp - p) : strlen(p);
        if (len > 0) {
            if (r->nargs == GW_QUERY_ARGS_MAX) {
                gw_request_problem(r, "more than %d query parameters",
                                   GW_QUERY_ARGS_MAX);
                return GW_EINVAL;
            }
            eq = memchr(p, '=', len);
            struct gw_query_arg *arg = &r->args[r->nargs];
            arg->name =
                gw_request_decode(r->arena, p, eq ? (size_t) (eq - p) : len);
            arg->value = eq ? gw_request_decode(r->arena, eq + 1,
                                                len - (size_t) (eq - p) - 1)
                            : "";
            if (arg->name == NULL || arg->value == NULL) {
                return GW_EINVAL;
            }
            r->nargs++;
        }
        if (amp == NULL) {
            break;
        }
        p = amp + 1;
    }
    return GW_OK;
}

void
gw_request_problem(struct gw_request *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    r->problem_detail = gw_arena_vprintf(r->arena, fmt, ap);
    va_end(ap);
}

int
gw_reply_header(struct gw_request *r, const char *name, const char *value)
{
    size_t room = sizeof(r->headers) - r->headers_len;
    size_t nlen = strlen(name), vlen = strlen(value);
    char  *p = r->headers + r->headers_len;

    /* Header injection: values come from our code, but never trust. */
    if (strpbrk(value, "\r\n") != NULL) {
        return -1;
    }
    if (nlen + vlen + 4 >= room) { /* "name: value\r\n" and its NUL */
        return -1;
    }
    memcpy(p, name, nlen);
    memcpy(p + nlen, ": ", 2);
    memcpy(p + nlen + 2, value, vlen);
    memcpy(p + nlen + 2 + vlen, "\r\n", 3);
    r->headers_len += nlen + vlen + 4;
    return 0;
}

int
gw_reply_raw(struct gw_request *r, int status, const char *content_type,
             const char *body, size_t len)
{
    r->status = status;
    r->content_type = content_type;
    r->reply_body = body;
    r->reply_len = len;
    return 0;
}

int
gw_reply_stream(struct gw_request *r, int status, const char *content_type,
                int (*fn)(struct gw_request *r, void *ctx), void *ctx)
{
    gw_reply_raw(r, status, content_type, NULL, 0);
    r->stream = fn;
    r->stream_ctx = ctx;
    return 0;
}

int
gw_reply_write(struct gw_request *r, const void *p, size_t n)
{
    if (r->stream_write == NULL) {
        return GW_ERROR;
    }
    return r->stream_write(r->stream_out, p, n) == 0 ? GW_OK : GW_ERROR;
}

int
gw_reply_json(struct gw_request *r, int status, const cJSON *body)
{
    char *s = gw_json_print(r->arena, body);

    if (s == NULL) {
        return -1;
    }
    return gw_reply_raw(r, status, "application/json", s, strlen(s));
}

int
gw_reply_problem(struct gw_request *r, int rc)
{
    struct gw_buf b = {0};
    int           status = gw_status_http(rc);
    char         *s;

    gw_buf_printf(&b,
                  "{\"type\":\"https://vas.example/problems/%s\","
                  "\"title\":",
                  gw_status_code(rc));
    gw_buf_append_json_str(&b, gw_status_title(rc));
    gw_buf_printf(&b, ",\"status\":%d,\"detail\":", status);
    gw_buf_append_json_str(
        &b, r->problem_detail ? r->problem_detail : gw_status_title(rc));
    gw_buf_printf(&b, ",\"code\":\"%s\",\"instance\":", gw_status_code(rc));
    gw_buf_append_json_str(&b, r->path ? r->path : "");
    gw_buf_appends(&b, ",\"request_id\":");
    gw_buf_append_json_str(&b, r->request_id);
    if (r->problem_extra != NULL) {
        const cJSON *it;
        cJSON_ArrayForEach(it, r->problem_extra)
        {
            char *v = cJSON_PrintUnformatted(it);
            if (v == NULL) {
                continue;
            }
            gw_buf_appends(&b, ",");
            gw_buf_append_json_str(&b, it->string);
            gw_buf_appends(&b, ":");
            gw_buf_appends(&b, v);
            cJSON_free(v);
        }
    }
    if (gw_buf_appends(&b, "}") != 0) {
        gw_buf_free(&b);
        return -1;
    }
    s = gw_arena_strndup(r->arena, b.data, b.len);
    gw_buf_free(&b);
    if (s == NULL) {
        return -1;
    }
    return gw_reply_raw(r, status, "application/problem+json", s, strlen(s));
}
