/*
 * test_gw_status.c — the one status → HTTP problem mapping
 * (gateway/gw_status.c), checked for every enum value against API.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gw_status.h"

static const struct {
    int         rc;
    int         http;
    const char *code;
} want[] = {
    {GW_OK, 200, "ok"},
    {GW_ERROR, 500, "internal"},
    {GW_EINVAL, 400, "invalid_request"},
    {GW_EUNAUTHORIZED, 401, "unauthorized"},
    {GW_EFORBIDDEN, 403, "forbidden"},
    {GW_ENOTFOUND, 404, "not_found"},
    {GW_EMETHOD, 405, "method_not_allowed"},
    {GW_ETOOLARGE, 413, "payload_too_large"},
    {GW_EFUNDS, 402, "insufficient_funds"},
    {GW_ECAP, 402, "spend_cap_exceeded"},
    {GW_ESUSPENDED, 403, "account_suspended"},
    {GW_EPRICE, 409, "price_changed"},
    {GW_EIDEM_REQUIRED, 400, "idempotency_key_required"},
    {GW_EIDEM_REUSED, 422, "idempotency_key_reused"},
    {GW_EIDEM_BUSY, 409, "idempotency_in_progress"},
    {GW_ELOBBY_FULL, 409, "lobby_full"},
    {GW_ELOBBY_CLOSED, 409, "lobby_closed"},
    {GW_EIN_LOBBY, 409, "already_in_lobby"},
    {GW_ENOT_OWNER, 403, "not_lobby_owner"},
    {GW_EEXPIRED, 410, "link_expired"},
    {GW_EREVOKED, 410, "entitlement_revoked"},
    {GW_EOWNED, 409, "already_owned"},
    {GW_ERATE, 429, "rate_limited"},
    {GW_EUNAVAIL, 503, "unavailable"},
    {GW_EOUTCOME, 503, "unavailable"},
    {GW_ECONFLICT, 409, "conflict"},
    {GW_EBADGATEWAY, 502, "bad_gateway"},
    {GW_ERETRY, 503, "unavailable"},
    {GW_EDUP, 409, "conflict"},
    {GW_EMEDIA, 415, "unsupported_media_type"},
};
#define NWANT (sizeof(want) / sizeof(want[0]))

/* Every enum value maps to the HTTP status and stable code of API.md (a
 * shifted table row would answer, say, 409 lobby_full for a price
 * change). */
static void
test_every_value(void **state)
{
    size_t i;

    (void) state;
    for (i = 0; i < NWANT; i++) {
        if (gw_status_http(want[i].rc) != want[i].http
            || strcmp(gw_status_code(want[i].rc), want[i].code) != 0) {
            fail_msg("rc %d: got %d %s, want %d %s", want[i].rc,
                     gw_status_http(want[i].rc), gw_status_code(want[i].rc),
                     want[i].http, want[i].code);
        }
        assert_non_null(gw_status_title(want[i].rc));
        assert_true(strlen(gw_status_title(want[i].rc)) > 0);
    }
}

/* The table above covers the whole enum: a new status added without a
 * row here (or in gw_status.c) fails. */
static void
test_table_complete(void **state)
{
    int rc;

    (void) state;
    assert_int_equal(NWANT, 1 - GW_STATUS_MIN);
    for (rc = 0; rc >= GW_STATUS_MIN; rc--) {
        assert_int_equal(want[-rc].rc, rc);
        /* Only GW_ERROR itself may map to "internal". */
        if (rc != GW_ERROR) {
            assert_string_not_equal(gw_status_code(rc), "internal");
        }
    }
}

/* Values outside the enum (positive, below the minimum) are internal
 * errors, never an out-of-bounds read. */
static void
test_unknown_values(void **state)
{
    static const int odd[] = {1,     2,         500,      GW_STATUS_MIN - 1,
                              -1000, INT32_MIN, INT32_MAX};
    size_t           i;

    (void) state;
    for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        assert_int_equal(gw_status_http(odd[i]), 500);
        assert_string_equal(gw_status_code(odd[i]), "internal");
        assert_non_null(gw_status_title(odd[i]));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_value),
        cmocka_unit_test(test_table_complete),
        cmocka_unit_test(test_unknown_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
