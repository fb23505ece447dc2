/*
 * gw_request.h — one HTTP request as the handlers see it, and its reply.
 *
 * A struct gw_request lives for one request on one thread. Every pointer in
 * it is borrowed from the FastCGI params or the thread's arena and dies at
 * the end of the request. Handlers read the request through these
 * accessors and answer with gw_reply_*; an error is answered by returning
 * a gw_status code (optionally after gw_request_problem() for a detail),
 * and the gateway writes the problem+json.
 */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "gw_arena.h"
#include "gw_config.h"
#include "gw_limits.h"

struct gw_route;
struct gw_thread;

struct gw_query_arg {
    const char *name;
    const char *value;
};

struct gw_request {
    struct gw_arena        *arena;
    struct gw_thread       *thr;
    const struct gw_config *cfg;
    char                  **envp; /* FastCGI params, NULL-ended */

    const char *method;
    const char *path;  /* decoded, without the query */
    const char *query; /* raw, may be "" */
    const char *remote_addr;
    char        request_id[GW_REQUEST_ID_MAX + 1];
    int64_t     started_us;

    const struct gw_route *route;
    int                    route_index; /* -1: no route matched */
    const char            *route_params[GW_ROUTE_PARAMS_MAX];
    size_t                 nroute_params;
    struct gw_query_arg    args[GW_QUERY_ARGS_MAX];
    size_t                 nargs;

    int64_t content_length;
    char   *body;
    size_t  body_len;
    cJSON  *json; /* the body, for JSON routes */

    /* The caller, set by authentication. */
    const char *user_id;      /* IM user (JWT sub) or NULL */
    int64_t     admin_key_id; /* > 0 for an admin key */
    const char *caller;       /* idempotency scope */
    const char *idem_key;     /* Idempotency-Key or NULL */
    int         idem_locked;
    int         idem_txn; /* the key is claimed in the transaction */

    /* The reply. */
    int         status;
    const char *content_type;
    const char *reply_body;
    size_t      reply_len;
    /* A streamed reply (gw_reply_stream): the body is written after the
     * handler returns, by stream(), through stream_write (the transport's). */
    int (*stream)(struct gw_request *r, void *ctx);
    void *stream_ctx;
    int (*stream_write)(void *out, const void *p, size_t n);
    void       *stream_out;
    char        headers[GW_REPLY_HEADERS_MAX];
    size_t      headers_len;
    const char *problem_detail;
    cJSON      *problem_extra; /* extra members of the problem */
    int         replayed;
    const char *problem_code; /* for the access log */
    const char *location;     /* a 201's Location (arena), set by handlers */
};

/* A FastCGI param ("HTTP_IF_NONE_MATCH", "CONTENT_TYPE"…) or NULL. */
const char *gw_request_param(const struct gw_request *r, const char *name);

/* The n-th {placeholder} of the matched route (0-based) or NULL. */
const char *gw_request_route_param(const struct gw_request *r, size_t n);

/* A decoded query argument or NULL (first one wins). */
const char *gw_request_arg(const struct gw_request *r, const char *name);

/*
 * Splits and percent-decodes r->query into r->args. GW_OK or GW_EINVAL
 * (bad escape, too many args, NUL byte); a limit that refused it is named
 * in r's problem detail.
 */
int gw_request_parse_query(struct gw_request *r);

/* Sets the problem detail (printf) for the error the handler returns. */
void gw_request_problem(struct gw_request *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Adds a reply header line ("Name: value"). GW_OK or GW_ERROR when full. */
int gw_reply_header(struct gw_request *r, const char *name, const char *value);

/* Reply with a JSON body (the tree is serialised now; caller keeps it). */
int gw_reply_json(struct gw_request *r, int status, const cJSON *body);

/* Reply with a body that lives at least until the request ends. */
int gw_reply_raw(struct gw_request *r, int status, const char *content_type,
                 const char *body, size_t len);

/*
 * A reply whose body is too big to hold (CSV exports): status and headers
 * go out first, then the transport calls fn(r, ctx), which writes the body
 * in pieces with gw_reply_write() while the memory stays bounded. fn runs
 * after the handler has returned (no transaction open); everything it
 * needs must live in the arena. Once fn runs, the status can no longer
 * change: fn validates nothing, it only writes (an error cuts the body
 * short and is logged; see docs/cdr-format.md).
 */
int gw_reply_stream(struct gw_request *r, int status, const char *content_type,
                    int (*fn)(struct gw_request *r, void *ctx), void *ctx);

/* Writes n body bytes of a streamed reply. GW_OK or GW_ERROR (peer gone). */
int gw_reply_write(struct gw_request *r, const void *p, size_t n);

/* Builds the problem+json body for rc (uses problem_detail/extra). */
int gw_reply_problem(struct gw_request *r, int rc);

#endif /* GW_REQUEST_H */
