/*
 * gw_router.c — segment matching over a small precompiled table.
 *
 * Route tables are a few dozen rows: a linear scan over pre-split
 * segments costs less than a hash lookup's setup and keeps the order of
 * the table meaningful (a literal row before a placeholder row wins).
 */
#include <stdio.h>
#include <string.h>

#include "gw_arena.h"
#include "gw_router.h"

struct gw_route_compiled {
    const struct gw_route *route;
    size_t                 nsegs;
    struct {
        const char *text; /* NULL for a placeholder */
        size_t      len;
    } segs[GW_ROUTE_SEGMENTS_MAX];
};

static struct gw_route_compiled gw_routes[GW_ROUTES_MAX];
static size_t                   gw_nroutes;

int
gw_router_init(const struct gw_route *routes, size_t n)
{
    size_t i, nparams;

    if (n > GW_ROUTES_MAX) {
        fprintf(stderr, "too many routes (%zu > %d)\n", n, GW_ROUTES_MAX);
        return -1;
    }
    for (i = 0; i < n; i++) {
        struct gw_route_compiled *c = &gw_routes[i];
        const char               *p = routes[i].pattern;

        c->route = &routes[i];
        c->nsegs = 0;
        nparams = 0;
        if (p[0] != '/') {
            fprintf(stderr, "route %s: must start with /\n", p);
            return -1;
        }
        while (*p == '/') {
            const char *start = p + 1, *end = strchr(start, '/');
            size_t      len = end ? (size_t) (end - start) : strlen(start);

            if (c->nsegs == GW_ROUTE_SEGMENTS_MAX) {
                fprintf(stderr, "route %s: too many segments\n",
                        routes[i].pattern);
                return -1;
            }
            if (len >= 2 && start[0] == '{' && start[len - 1] == '}') {
                c->segs[c->nsegs].text = NULL;
                if (++nparams > GW_ROUTE_PARAMS_MAX) {
                    fprintf(stderr, "route %s: too many placeholders\n",
                            routes[i].pattern);
                    return -1;
                }
            } else {
                c->segs[c->nsegs].text = start;
            }
            c->segs[c->nsegs].len = len;
            c->nsegs++;
            p = start + len;
        }
    }
    gw_nroutes = n;
    return 0;
}

size_t
gw_router_count(void)
{
    return gw_nroutes;
}

const struct gw_route *
gw_router_get(size_t i)
{
    return i < gw_nroutes ? gw_routes[i].route : NULL;
}

/* Splits path into segments (pointers into path); -1 when too many. */
static int
gw_router_split(const char *path, const char **seg, size_t *len, size_t *n)
{
    const char *p = path;

    *n = 0;
    if (p[0] != '/') {
        return -1;
    }
    while (*p == '/') {
        const char *start = p + 1, *end = strchr(start, '/');

        if (*n == GW_ROUTE_SEGMENTS_MAX) {
            return -1;
        }
        seg[*n] = start;
        len[*n] = end ? (size_t) (end - start) : strlen(start);
        p = start + len[*n];
        (*n)++;
    }
    return 0;
}

static int
gw_router_path_matches(const struct gw_route_compiled *c, const char **seg,
                       const size_t *len, size_t n)
{
    size_t i;

    if (c->nsegs != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (c->segs[i].text == NULL) {
            if (len[i] == 0) {
                return 0;
            }
        } else if (c->segs[i].len != len[i]
                   || memcmp(c->segs[i].text, seg[i], len[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

int
gw_router_match(struct gw_arena *a, const char *method, const char *path,
                const char **params, size_t *nparams, char *allow,
                size_t allow_len)
{
    const char *seg[GW_ROUTE_SEGMENTS_MAX];
    size_t      len[GW_ROUTE_SEGMENTS_MAX], n, i, j, alen = 0;
    int         path_seen = 0;

    *nparams = 0;
    if (allow_len > 0) {
        allow[0] = '\0';
    }
    if (gw_router_split(path, seg, len, &n) != 0) {
        return -1;
    }
    for (i = 0; i < gw_nroutes; i++) {
        const struct gw_route_compiled *c = &gw_routes[i];

        if (!gw_router_path_matches(c, seg, len, n)) {
            continue;
        }
        if (strcmp(c->route->method, method) != 0
            && !(strcmp(method, "HEAD") == 0
                 && strcmp(c->route->method, "GET") == 0)) {
            /* HEAD is served wherever GET is, so Allow names it too
             * (RFC 9110 10.2.1: the methods the resource supports). */
            int w =
                snprintf(allow + alen, allow_len - alen, "%s%s%s",
                         path_seen ? ", " : "", c->route->method,
                         strcmp(c->route->method, "GET") == 0 ? ", HEAD" : "");
            if (w > 0 && alen + (size_t) w < allow_len) {
                alen += (size_t) w;
            }
            path_seen = 1;
            continue;
        }
        for (j = 0; j < n; j++) {
            if (c->segs[j].text == NULL) {
                params[(*nparams)++] = gw_arena_strndup(a, seg[j], len[j]);
            }
        }
        return (int) i;
    }
    return path_seen ? -2 : -1;
}
