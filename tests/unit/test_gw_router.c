/*
 * test_gw_router.c — route table compilation and matching
 * (gateway/gw_router.c): literals, placeholders, 404 vs 405 + Allow,
 * HEAD as GET, exact paths (no trailing-slash folding), limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_arena.h"
#include "gw_router.h"

static int
h_dummy(struct gw_request *r)
{
    (void) r;
    return 0;
}

static const struct gw_route routes[] = {
    /* 0 */ {"GET", "/v1/catalog/items", h_dummy, 0, 0},
    /* 1 */ {"GET", "/v1/catalog/items/{id}", h_dummy, 0, 0},
    /* 2 */ {"POST", "/v1/lobbies/quick-match", h_dummy, 0, 0},
    /* 3 */ {"GET", "/v1/lobbies/{id}", h_dummy, 0, 0},
    /* 4 */ {"POST", "/v1/lobbies/{id}/join", h_dummy, 0, 0},
    /* 5 */ {"PATCH", "/v1/admin/subscribers/{msisdn}", h_dummy, 0, 0},
    /* 6 */ {"GET", "/v1/admin/subscribers/{msisdn}", h_dummy, 0, 0},
    /* 7 */ {"POST", "/v1/admin/purchases/{id}/refunds", h_dummy, 0, 0},
    /* 8 */ {"GET", "/healthz", h_dummy, 0, 0},
    /* 9 */ {"GET", "/", h_dummy, 0, 0},
    /* 10 */ {"GET", "/a/{p1}/{p2}/{p3}/{p4}", h_dummy, 0, 0},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

struct match {
    int         idx;
    const char *params[GW_ROUTE_PARAMS_MAX];
    size_t      nparams;
    char        allow[128];
};

static struct gw_arena arena;

static int
setup(void **state)
{
    (void) state;
    if (gw_arena_init(&arena) != 0 || gw_router_init(routes, NROUTES) != 0) {
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    gw_arena_fini(&arena);
    return 0;
}

static struct match
m(const char *method, const char *path)
{
    struct match x;

    memset(&x, 0, sizeof(x));
    x.idx = gw_router_match(&arena, method, path, x.params, &x.nparams, x.allow,
                            sizeof(x.allow));
    return x;
}

/* The table is compiled and readable back in order. */
static void
test_init_table(void **state)
{
    (void) state;
    assert_int_equal(gw_router_count(), NROUTES);
    assert_ptr_equal(gw_router_get(0), &routes[0]);
    assert_ptr_equal(gw_router_get(NROUTES - 1), &routes[NROUTES - 1]);
    assert_null(gw_router_get(NROUTES));
}

/* Literal routes and placeholders: the right row, the params copied out
 * in order; a literal row listed before a placeholder row wins. */
static void
test_match_ok(void **state)
{
    struct match x;

    (void) state;
    x = m("GET", "/v1/catalog/items");
    assert_int_equal(x.idx, 0);
    assert_int_equal(x.nparams, 0);
    x = m("GET", "/v1/catalog/items/12345");
    assert_int_equal(x.idx, 1);
    assert_int_equal(x.nparams, 1);
    assert_string_equal(x.params[0], "12345");
    x = m("POST", "/v1/lobbies/quick-match");
    assert_int_equal(x.idx, 2);
    x = m("GET", "/v1/lobbies/quick-match");
    assert_int_equal(x.idx, 3);
    assert_string_equal(x.params[0], "quick-match");
    x = m("POST", "/v1/lobbies/L9/join");
    assert_int_equal(x.idx, 4);
    assert_string_equal(x.params[0], "L9");
    x = m("GET", "/v1/admin/subscribers/8613812345678");
    assert_int_equal(x.idx, 6);
    assert_string_equal(x.params[0], "8613812345678");
    x = m("PATCH", "/v1/admin/subscribers/8613812345678");
    assert_int_equal(x.idx, 5);
    x = m("GET", "/healthz");
    assert_int_equal(x.idx, 8);
    x = m("GET", "/");
    assert_int_equal(x.idx, 9);
    x = m("GET", "/a/1/2/3/4");
    assert_int_equal(x.idx, 10);
    assert_int_equal(x.nparams, 4);
    assert_string_equal(x.params[0], "1");
    assert_string_equal(x.params[3], "4");
    /* Params are copies: they end at the segment. */
    assert_int_equal(strlen(x.params[1]), 1);
    gw_arena_reset(&arena);
}

/* HEAD is served by the GET row (RFC 9110); HEAD where only POST exists is
 * a 405. */
static void
test_head(void **state)
{
    struct match x;

    (void) state;
    x = m("HEAD", "/v1/catalog/items/7");
    assert_int_equal(x.idx, 1);
    assert_string_equal(x.params[0], "7");
    x = m("HEAD", "/v1/admin/purchases/7/refunds");
    assert_int_equal(x.idx, -2);
    assert_string_equal(x.allow, "POST");
    gw_arena_reset(&arena);
}

/* 404: unknown paths, a trailing slash, an empty placeholder segment,
 * double slashes, a longer or shorter path, a relative path, case. */
static void
test_not_found(void **state)
{
    static const char *paths[] = {
        "/nope",
        "/healthz/",
        "/v1/catalog/items/",
        "/v1/catalog//items",
        "//healthz",
        "/v1/catalog/items/1/2",
        "/v1/catalog",
        "healthz",
        "",
        "/HEALTHZ",
        "/v1/lobbies//join",
        "/a/1/2/3",
        "/a/1/2/3/4/5",
    };
    struct match x;
    size_t       i;

    (void) state;
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        x = m("GET", paths[i]);
        if (x.idx != -1) {
            fail_msg("GET %s: got %d, want -1", paths[i], x.idx);
        }
        assert_int_equal(x.nparams, 0);
        assert_string_equal(x.allow, "");
    }
    /* An unknown method on an unknown path is a 404, not a 405. */
    x = m("DELETE", "/nope");
    assert_int_equal(x.idx, -1);
}

/* 405: the path exists under other methods; Allow lists all of them, in
 * table order, and only them, with HEAD after each GET (HEAD is served by
 * the GET row). */
static void
test_method_not_allowed(void **state)
{
    struct match x;

    (void) state;
    x = m("POST", "/v1/catalog/items");
    assert_int_equal(x.idx, -2);
    assert_string_equal(x.allow, "GET, HEAD");
    x = m("DELETE", "/v1/admin/subscribers/86138");
    assert_int_equal(x.idx, -2);
    assert_string_equal(x.allow, "PATCH, GET, HEAD");
    x = m("DELETE", "/v1/lobbies/quick-match");
    assert_int_equal(x.idx, -2);
    assert_string_equal(x.allow, "POST, GET, HEAD");
    x = m("GET", "/v1/lobbies/L1/join");
    assert_int_equal(x.idx, -2);
    assert_string_equal(x.allow, "POST");
    /* Methods are case-sensitive (RFC 9110). */
    x = m("get", "/healthz");
    assert_int_equal(x.idx, -2);
    assert_string_equal(x.allow, "GET, HEAD");
}

/* A small Allow buffer is never overrun and stays a C string. */
static void
test_allow_small_buffer(void **state)
{
    const char *params[GW_ROUTE_PARAMS_MAX];
    size_t      n;
    char        allow[6];
    int         idx;

    (void) state;
    memset(allow, 'Z', sizeof(allow));
    idx = gw_router_match(&arena, "DELETE", "/v1/admin/subscribers/1", params,
                          &n, allow, sizeof(allow));
    assert_int_equal(idx, -2);
    assert_true(strlen(allow) < sizeof(allow));
}

/* Request paths with more segments than any route: refused cleanly (the
 * segment array is fixed-size). */
static void
test_too_many_segments(void **state)
{
    char         path[256] = "";
    struct match x;
    int          i;

    (void) state;
    for (i = 0; i < GW_ROUTE_SEGMENTS_MAX + 5; i++) {
        memcpy(path + 2 * i, "/s", 3);
    }
    x = m("GET", path);
    assert_int_equal(x.idx, -1);
    assert_int_equal(x.nparams, 0);
}

/* Bad tables are refused at init: no leading '/', too many segments, too
 * many placeholders (the params array holds GW_ROUTE_PARAMS_MAX), too many
 * routes. A good table can be installed again afterwards. */
static void
test_init_invalid(void **state)
{
    static struct gw_route bad[GW_ROUTES_MAX + 1];
    char                   longpat[256] = "";
    size_t                 i;

    (void) state;
    bad[0] = (struct gw_route){"GET", "v1/x", h_dummy, 0, 0};
    assert_int_equal(gw_router_init(bad, 1), -1);
    bad[0] = (struct gw_route){"GET", "", h_dummy, 0, 0};
    assert_int_equal(gw_router_init(bad, 1), -1);
    for (i = 0; i < GW_ROUTE_SEGMENTS_MAX + 1; i++) {
        memcpy(longpat + 2 * i, "/x", 3);
    }
    bad[0] = (struct gw_route){"GET", longpat, h_dummy, 0, 0};
    assert_int_equal(gw_router_init(bad, 1), -1);
    longpat[2 * GW_ROUTE_SEGMENTS_MAX] = '\0';
    assert_int_equal(gw_router_init(bad, 1), 0);
    bad[0] = (struct gw_route){"GET", "/{a}/{b}/{c}/{d}/{e}", h_dummy, 0, 0};
    assert_int_equal(gw_router_init(bad, 1), -1);
    for (i = 0; i < GW_ROUTES_MAX + 1; i++) {
        bad[i] = (struct gw_route){"GET", "/x", h_dummy, 0, 0};
    }
    assert_int_equal(gw_router_init(bad, GW_ROUTES_MAX + 1), -1);
    assert_int_equal(gw_router_init(bad, GW_ROUTES_MAX), 0);
    assert_int_equal(gw_router_init(routes, NROUTES), 0);
    assert_int_equal(gw_router_count(), NROUTES);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_table),
        cmocka_unit_test(test_match_ok),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_allow_small_buffer),
        cmocka_unit_test(test_too_many_segments),
        cmocka_unit_test(test_init_invalid),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
