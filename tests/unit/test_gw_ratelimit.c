/*
 * test_gw_ratelimit.c — route classes of the rate limiter and the log's
 * MSISDN mask (pure parts; the buckets themselves are tested against the
 * real Redis in tests/integration/test_hardening_ratelimit.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gw_log.h"
#include "gw_ratelimit.h"
#include "gw_router.h"

/* Explicit classes win; else Idempotency-Key → money, GET → read, other
 * methods → write, ops routes → off. A money route read as "write" or a
 * probe counted against users fails here. */
static void
test_classes(void **state)
{
    static const struct {
        struct gw_route  rt;
        enum gw_rl_class want;
    } v[] = {
        {{"GET", "/v1/catalog/items", NULL, GW_ROUTE_PUBLIC, 0}, GW_RL_READ},
        {{"POST", "/v1/purchases", NULL, GW_ROUTE_USER | GW_ROUTE_IDEMPOTENT,
          0},
         GW_RL_MONEY},
        {{"POST", "/v1/lobbies", NULL, GW_ROUTE_USER, 0}, GW_RL_WRITE},
        {{"PATCH", "/v1/admin/items/{id}", NULL, GW_ROUTE_ADMIN, 0},
         GW_RL_WRITE},
        {{"GET", "/healthz", NULL, GW_ROUTE_NOLOG, 0}, GW_RL_OFF},
        {{"GET", "/metrics", NULL, GW_ROUTE_TRUSTED, 0}, GW_RL_OFF},
        {{"GET", "/x", NULL, GW_ROUTE_RL_MONEY, 0}, GW_RL_MONEY},
        {{"POST", "/x", NULL, GW_ROUTE_IDEMPOTENT | GW_ROUTE_RL_WRITE, 0},
         GW_RL_WRITE},
        {{"GET", "/x", NULL, GW_ROUTE_NOLOG | GW_ROUTE_RL_READ, 0}, GW_RL_READ},
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(gw_ratelimit_class(&v[i].rt), v[i].want);
    }
    assert_string_equal(gw_ratelimit_class_name(GW_RL_MONEY), "money");
}

/* The lease a worker takes: burst / (GW_RL_LEASE_SHARE x workers), capped
 * by lease_max, at least 1. A lease that grew with the burst alone (the
 * overshoot workers x lease would pass burst / 8) or that leased small
 * buckets (money: burst 10 must stay exact) fails here. */
static void
test_lease_size(void **state)
{
    static const struct {
        int64_t burst, workers, lease_max, want;
    } v[] = {
        {10, 2, 32, 1},         /* money default: no lease */
        {5, 2, 32, 1},          /* the limit tests' small buckets */
        {20, 2, 32, 1},         /*   and their address bucket */
        {120, 2, 32, 7},        /* reads: 120 / 16 */
        {2400, 2, 32, 32},      /* the address bucket: lease_max */
        {128, 2, 8, 8},         /* test_leases_bound_the_burst */
        {128, 4, 8, 4},         /* more workers, smaller leases */
        {100000000, 1, 1, 1},   /* lease_max 1 turns leases off */
        {100000000, 0, 32, 32}, /* workers 0 read as 1 */
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        int64_t n =
            gw_ratelimit_lease_size(v[i].burst, v[i].workers, v[i].lease_max);

        assert_int_equal(n, v[i].want);
        /* the documented bound: workers x lease <= burst / 8 when leasing */
        if (n > 1) {
            assert_true(n * v[i].workers * 8 <= v[i].burst);
        }
    }
}

/* MSISDN-length digit runs are masked; ids, amounts and longer runs are
 * not (a mask that leaked the middle digits or ate ids fails). */
static void
test_mask(void **state)
{
    static const struct {
        const char *in, *out;
    } v[] = {
        {"/v1/admin/subscribers/8613812345678",
         "/v1/admin/subscribers/861******5678"},
        {"12345678", "123*5678"},
        {"1234567", "1234567"},
        {"id 42 amount 300", "id 42 amount 300"},
        {"a8613812345678b86138123", "a861******5678b861*8123"},
        {"1234567890123456", "1234567890123456"},
        {"", ""},
    };
    char   buf[128];
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        snprintf(buf, sizeof(buf), "%s", v[i].in);
        gw_log_mask_msisdn(buf);
        assert_string_equal(buf, v[i].out);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_lease_size),
        cmocka_unit_test(test_mask),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
