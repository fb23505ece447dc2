/*
 * test_gw_ratelimit.c — route classes of the rate limiter, its lease
 * table and the log's MSISDN mask (pure parts; the buckets themselves are
 * tested against the real Redis in
 * tests/integration/test_hardening_ratelimit.py).
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
#include "gw_rltable.h"
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

/* The k-th hash of set 3 of the lease table (hashes 0 mod sets share it). */
#define SETS       (GW_RL_LEASE_SLOTS / GW_RL_LEASE_WAYS)
#define IN_SET3(k) ((uint64_t) (3 + (uint64_t) (k) *SETS))
static struct gw_rltable table;

/* A request's caller and address buckets that share a set keep both
 * leases across requests (the fresh-clone CI failure: one slot per hash,
 * each bucket evicted the other's lease on every request and 16 of 128
 * were admitted). A table that evicts on a shared set fails here. */
static void
test_table_shared_set(void **state)
{
    struct gw_rl_lease *u, *a;
    int                 req;

    (void) state;
    memset(&table, 0, sizeof(table));
    for (req = 0; req < 5; req++) {
        u = gw_rltable_get(&table, IN_SET3(1), NULL, 100 + req);
        a = gw_rltable_get(&table, IN_SET3(2), u, 100 + req);
        assert_non_null(u);
        assert_non_null(a);
        assert_ptr_not_equal(u, a);
        if (req == 0) {
            assert_int_equal(u->tokens, 0); /* new: zeroed */
            u->tokens = 8, a->tokens = 8;
        }
        assert_int_equal(u->tokens, 8 - req);
        assert_int_equal(a->tokens, 8 - req);
        u->tokens--, a->tokens--;
    }
    assert_ptr_equal(gw_rltable_find(&table, IN_SET3(1)), u);
    assert_null(gw_rltable_find(&table, IN_SET3(9)));
    /* another set is untouched */
    assert_null(gw_rltable_find(&table, 4));
}

/* A full set: a new key takes the least recently used slot (its lease is
 * dropped, find() no longer sees it), never a renewing one (a Redis grant
 * for it is on the way) nor the kept one; with every slot renewing or
 * kept the new key gets no lease (NULL) and nothing is evicted. */
static void
test_table_eviction(void **state)
{
    struct gw_rl_lease *l, *keep;
    int                 k;

    (void) state;
    memset(&table, 0, sizeof(table));
    for (k = 0; k < GW_RL_LEASE_WAYS; k++) {
        l = gw_rltable_get(&table, IN_SET3(k), NULL, 1000 + k);
        l->tokens = 5;
    }
    gw_rltable_get(&table, IN_SET3(0), NULL, 2000); /* 1 is now the LRU */
    l = gw_rltable_get(&table, IN_SET3(100), NULL, 2001);
    assert_non_null(l);
    assert_int_equal(l->hash, IN_SET3(100));
    assert_int_equal(l->tokens, 0);
    assert_null(gw_rltable_find(&table, IN_SET3(1)));
    assert_non_null(gw_rltable_find(&table, IN_SET3(0)));

    /* the LRU (2) is renewing, the next (3) is kept: 4 goes */
    gw_rltable_find(&table, IN_SET3(2))->renewing = 1;
    keep = gw_rltable_find(&table, IN_SET3(3));
    l = gw_rltable_get(&table, IN_SET3(101), keep, 2002);
    assert_non_null(l);
    assert_non_null(gw_rltable_find(&table, IN_SET3(2)));
    assert_ptr_equal(gw_rltable_find(&table, IN_SET3(3)), keep);
    assert_int_equal(keep->tokens, 5);
    assert_null(gw_rltable_find(&table, IN_SET3(4)));

    /* every slot renewing but the kept one: no lease, no eviction */
    for (k = 0; k < GW_RL_LEASE_WAYS; k++) {
        table.slot[3 * GW_RL_LEASE_WAYS + k].renewing = 1;
    }
    keep->renewing = 0;
    assert_null(gw_rltable_get(&table, IN_SET3(102), keep, 2003));
    assert_ptr_equal(gw_rltable_find(&table, IN_SET3(3)), keep);
    /* a key already in the set is still found, renewing or not */
    assert_non_null(gw_rltable_get(&table, IN_SET3(2), keep, 2004));
}

/* A remembered refusal answers 429 until blocked_until, except while the
 * worker still holds tokens of the bucket (a lease granted just before a
 * concurrent single-token refusal): those are spent first. A rule that
 * strands them until the refusal's wait passes (fewer admitted than the
 * bucket gave out) or that forgets the refusal early fails here. */
static void
test_table_wait(void **state)
{
    struct gw_rl_lease l;

    (void) state;
    memset(&l, 0, sizeof(l));
    assert_int_equal(gw_rltable_wait(NULL, 10), 0);
    assert_int_equal(gw_rltable_wait(&l, 10), 0);
    l.blocked_until = 1010;
    assert_int_equal(gw_rltable_wait(&l, 10), 1000);
    assert_int_equal(gw_rltable_wait(&l, 1009), 1);
    assert_int_equal(gw_rltable_wait(&l, 1010), 0);
    l.tokens = 3;
    assert_int_equal(gw_rltable_wait(&l, 10), 0);
    l.tokens = 0;
    assert_int_equal(gw_rltable_wait(&l, 10), 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_lease_size),
        cmocka_unit_test(test_table_shared_set),
        cmocka_unit_test(test_table_eviction),
        cmocka_unit_test(test_table_wait),
        cmocka_unit_test(test_mask),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
