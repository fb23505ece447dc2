/*
 * gw_router.h — the route table: plain data (method, path pattern, handler,
 * flags, body limit), as nginx's ngx_command_t and redis' command table are.
 * The table itself lives in services/svc_routes.c, the only place that
 * knows every route; the gateway only matches against it.
 *
 * Patterns are literal segments and "{name}" placeholders that match one
 * non-empty segment: "/v1/catalog/items/{id}". Matching is exact (no
 * trailing slash folding). A path that matches a pattern under another
 * method is a 405 with an Allow header; no pattern at all is a 404.
 */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include <stddef.h>

#include "gw_limits.h"

struct gw_request;
struct gw_arena;

typedef int (*gw_handler_pt)(struct gw_request *r);

enum gw_route_flags {
    GW_ROUTE_PUBLIC = 0,
    GW_ROUTE_USER = 1 << 0,        /* IM user bearer token required */
    GW_ROUTE_ADMIN = 1 << 1,       /* admin API key required */
    GW_ROUTE_IDEMPOTENT = 1 << 2,  /* Idempotency-Key required + replay */
    GW_ROUTE_JSON = 1 << 3,        /* body must be a JSON object */
    GW_ROUTE_TRUSTED = 1 << 4,     /* only server.metrics_trusted peers */
    GW_ROUTE_NOLOG = 1 << 5,       /* no access log line (health probes) */
    GW_ROUTE_SECRET_PATH = 1 << 6, /* path holds a credential: the access
                                    * line shows the pattern only */
    GW_ROUTE_IDEM_TXN = 1 << 7,    /* with IDEMPOTENT: the handler's one
                                    * transaction claims the key first
                                    * (gw_idem_claim), no named lock */
    /* Rate-limit class (gw_ratelimit.h), bits 8..10; none = derived. */
    GW_ROUTE_RL_READ = 1 << 8,
    GW_ROUTE_RL_WRITE = 2 << 8,
    GW_ROUTE_RL_MONEY = 3 << 8,
    GW_ROUTE_RL_OFF = 4 << 8,
};

#define GW_ROUTE_RL_SHIFT 8
#define GW_ROUTE_RL_MASK  (7u << GW_ROUTE_RL_SHIFT)

struct gw_route {
    const char   *method;
    const char   *pattern;
    gw_handler_pt handler;
    unsigned      flags;
    size_t        body_max; /* 0: limits.body_max_bytes */
};

/*
 * Compiles the table (validates patterns). Call once before forking.
 * Returns 0, or -1 with a message on stderr.
 */
int gw_router_init(const struct gw_route *routes, size_t n);

/* Number of routes (metrics size their arrays with it). */
size_t gw_router_count(void);

/* The i-th route. */
const struct gw_route *gw_router_get(size_t i);

/*
 * Matches method + path. On success returns the route index and fills
 * params (borrowed from the arena copy made here). Returns -1 for no
 * path match (404) or -2 when only the method differs (405); then allow
 * receives the allowed methods ("GET, POST").
 */
int gw_router_match(struct gw_arena *a, const char *method, const char *path,
                    const char **params, size_t *nparams, char *allow,
                    size_t allow_len);

#endif /* GW_ROUTER_H */
