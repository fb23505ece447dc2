/*
 * gw_http.h — the request pipeline, independent of FastCGI.
 *
 *   gw_http_prepare()  method/path/query, request id, routing, limits
 *   (body is read by the transport, at most r->body_max bytes)
 *   gw_http_run()      auth, JSON, idempotency, the handler, the problem
 *   gw_http_finish()   metrics, access log, leftovers (open transaction)
 *
 * Each returns GW_OK or a status already rendered into r's reply, so the
 * transport only writes r->status, r->headers and r->reply_body.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stddef.h>

#include "gw_request.h"

struct gw_thread;

/* Resets r for a new request on thread t with the given params. */
void gw_http_init(struct gw_request *r, struct gw_thread *t, char **envp);

/*
 * Parses the request line and routes it. On GW_OK, *body_max is how many
 * body bytes the transport may read (content_length is within it).
 */
int gw_http_prepare(struct gw_request *r, size_t *body_max);

/* Runs authentication, body checks, idempotency and the handler. */
void gw_http_run(struct gw_request *r);

/* Renders rc as the reply (problem+json). */
void gw_http_fail(struct gw_request *r, int rc);

/* Records metrics and the access line; resets per-request state. */
void gw_http_finish(struct gw_request *r);

#endif /* GW_HTTP_H */
