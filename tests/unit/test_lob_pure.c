/* test_lob_pure.c — lobby pure logic: ids, text validation, tickets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gw_arena.h"
#include "gw_config.h"
#include "gw_status.h"
#include "lob.h"
#include "lob_internal.h"

static struct gw_config cfg;

static int
setup(void **state)
{
    (void) state;
    memset(&cfg, 0, sizeof(cfg));
    memcpy(cfg.ticket_secret, "0123456789abcdef-ticket", 23);
    cfg.ticket_secret_len = 23;
    return lob_init();
}

/* Catches: ids of the wrong length or case reaching Redis key names. */
static void
test_id_valid(void **state)
{
    (void) state;
    assert_true(lob_id_valid("01a2323a33dadba11bada102f4f5a5d1"));
    assert_false(lob_id_valid("01A2323A33DADBA11BADA102F4F5A5D1"));
    assert_false(lob_id_valid("01a2323a33dadba11bada102f4f5a5d"));
    assert_false(lob_id_valid("01a2323a33dadba11bada102f4f5a5d1}"));
    assert_false(lob_id_valid("{1a2323a33dadba11bada102f4f5a5d1"));
    assert_false(lob_id_valid(NULL));
}

/* Catches: NUL, controls, overlongs, surrogates, stray bytes in names. */
static void
test_text_valid(void **state)
{
    (void) state;
    assert_true(lob_text_valid("斗地主 table", strlen("斗地主 table")));
    assert_true(lob_text_valid("\xf0\x9f\x83\x8f", 4)); /* U+1F0CF */
    assert_false(lob_text_valid("a\0b", 3));
    assert_false(lob_text_valid("a\tb", 3));
    assert_false(lob_text_valid("\x7f", 1));
    assert_false(lob_text_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(lob_text_valid("\xe0\x80\xaf", 3));     /* overlong */
    assert_false(lob_text_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(lob_text_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(lob_text_valid("\xe6\x96", 2));         /* cut short */
    assert_false(lob_text_valid("\xff", 1));
    assert_true(lob_user_valid("im-5a1f03"));
    assert_false(lob_user_valid(""));
    assert_false(lob_user_valid("a\nb"));
    /* The IM user id rule of the JWT sub: no trailing space, no non-ASCII. */
    assert_false(lob_user_valid("im-5a1f03 "));
    assert_false(lob_user_valid("\xe6\x96\x97"));
}

/* Catches: a ticket that verifies after tampering, after expiry, with
 * another key, or one that does not verify at all. */
static void
test_ticket(void **state)
{
    char t[LOB_TICKET_MAX], payload[LOB_TICKET_MAX], bad[LOB_TICKET_MAX];
    int  rc;

    (void) state;
    rc = lob_ticket_make(&cfg, "01a2323a33dadba11bada102f4f5a5d1", "m-1",
                         "im-\"quoted\"", "10.0.0.1", 7777, 2000000000, t,
                         sizeof(t));
    assert_int_equal(rc, GW_OK);
    assert_int_equal(lob_ticket_verify(cfg.ticket_secret, cfg.ticket_secret_len,
                                       t, 1900000000, payload, sizeof(payload)),
                     GW_OK);
    assert_non_null(strstr(payload, "\"port\":7777"));
    assert_non_null(strstr(payload, "im-\\\"quoted\\\""));
    assert_int_equal(lob_ticket_verify(cfg.ticket_secret, cfg.ticket_secret_len,
                                       t, 2000000001, payload, sizeof(payload)),
                     GW_EEXPIRED);
    assert_int_equal(
        lob_ticket_verify((const unsigned char *) "other-key-16bytes", 17, t,
                          1900000000, payload, sizeof(payload)),
        GW_EINVAL);
    memcpy(bad, t, strlen(t) + 1);
    bad[3] = bad[3] == 'A' ? 'B' : 'A';
    assert_int_equal(lob_ticket_verify(cfg.ticket_secret, cfg.ticket_secret_len,
                                       bad, 1900000000, payload,
                                       sizeof(payload)),
                     GW_EINVAL);
    memcpy(bad, t, strlen(t) + 1);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(lob_ticket_verify(cfg.ticket_secret, cfg.ticket_secret_len,
                                       bad, 1900000000, payload,
                                       sizeof(payload)),
                     GW_EINVAL);
    assert_int_equal(lob_ticket_verify(cfg.ticket_secret, cfg.ticket_secret_len,
                                       "no-dot", 1900000000, payload,
                                       sizeof(payload)),
                     GW_EINVAL);
    assert_int_equal(lob_ticket_verify(cfg.ticket_secret, cfg.ticket_secret_len,
                                       "a.b.c", 1900000000, payload,
                                       sizeof(payload)),
                     GW_EINVAL);
}

/* An open public lobby of game 17 with one member, u1, its owner. */
static void
lob_fixture(struct lob_lobby *l, const char *id, int64_t max_players)
{
    memset(l, 0, sizeof(*l));
    cfg.janitor.lobby_idle_s = 300;
    l->id = id, l->game_id = 17, l->game_title = "G", l->name = "n";
    l->owner = "u1", l->state = "open", l->visibility = "public";
    l->max_players = max_players, l->min_players = 2;
    l->created_ms = 5, l->active_ms = 1796000000000LL;
    l->nmembers = 1, l->members[0].user_id = "u1", l->members[0].joined_ms = 5;
}

/*
 * Catches: a listing row whose created or expiry ms are not padded to 13
 * digits (lexical order is then not the list's order), a row not shaped
 * "<created>.<id>.<expiry>.<lobby JSON>", a range that would remove
 * another lobby's row, and rows for full or private lobbies.
 */
static void
test_listing_row(void **state)
{
    static struct lob_lobby l;
    struct lob_row          row;
    const char             *id = "01a2323a33dadba11bada102f4f5a5d1";

    (void) state;
    lob_fixture(&l, id, 2);
    assert_int_equal(lob_row_args(&cfg, &l, &row), 1);
    assert_string_equal(row.keys[0], "vas:lobbies:{g17}:rows");
    assert_string_equal(row.keys[1], "vas:lobbies:{g17}:exps");
    assert_string_equal(row.key,
                        "0000000000005.01a2323a33dadba11bada102f4f5a5d1");
    assert_string_equal(row.lo,
                        "[0000000000005.01a2323a33dadba11bada102f4f5a5d1.");
    assert_string_equal(row.hi,
                        "[0000000000005.01a2323a33dadba11bada102f4f5a5d1/");
    assert_string_equal(row.exp, "1796000300000");
    assert_int_equal(strncmp(row.member.data,
                             "0000000000005.01a2323a33dadba11bada102f4f5a5d1."
                             "1796000300000.{\"id\":\"01a2323a",
                             LOB_ROW_HEAD + 15),
                     0);
    assert_int_equal(row.member.data[row.member.len - 1], '}');
    gw_buf_free(&row.member);
    l.nmembers = 2; /* full: its row is removed */
    assert_int_equal(lob_row_args(&cfg, &l, &row), 1);
    assert_int_equal(row.member.len, 0);
    l.nmembers = 1, l.visibility = "private";
    assert_int_equal(lob_row_args(&cfg, &l, &row), 0);
}

/*
 * Catches: the hand-written number and key formatting (lob_redis.c, no
 * printf) dropping a sign, a digit of INT64_MIN or a key's suffix, and a
 * listing row whose JSON is not the lobby's rendered text.
 */
static void
test_numbers_and_keys(void **state)
{
    static struct lob_lobby l;
    struct lob_row          row;
    struct gw_arena         a;
    char                    n[LOB_NUM_MAX], k[LOB_LOBBY_KEYS][LOB_KEY_MAX];
    const char             *id = "01a2323a33dadba11bada102f4f5a5d1";
    const char             *json;

    (void) state;
    assert_int_equal(gw_i64_text(n, 0), 1);
    assert_string_equal(n, "0");
    assert_int_equal(gw_i64_text(n, -42), 3);
    assert_string_equal(n, "-42");
    gw_i64_text(n, INT64_MAX);
    assert_string_equal(n, "9223372036854775807");
    gw_i64_text(n, INT64_MIN);
    assert_string_equal(n, "-9223372036854775808");
    lob_key_user("u-1", k[0]);
    assert_string_equal(k[0], "vas:lobbyuser:{u-1}");
    lob_keys_lobby(id, k);
    assert_string_equal(k[0], "vas:lobby:{01a2323a33dadba11bada102f4f5a5d1}");
    assert_string_equal(k[1], "vas:lobby:{01a2323a33dadba11bada102f4f5a5d1}:s");
    assert_string_equal(k[2], "vas:lobby:{01a2323a33dadba11bada102f4f5a5d1}:f");
    assert_int_equal(gw_arena_init(&a), 0);
    lob_fixture(&l, id, 4);
    json = lob_json_get(&cfg, &a, &l);
    assert_non_null(json);
    assert_ptr_equal(lob_json_get(&cfg, &a, &l), json); /* rendered once */
    assert_int_equal(lob_row_args(&cfg, &l, &row), 1);
    assert_int_equal(row.member.len, LOB_ROW_HEAD + l.json_len);
    assert_memory_equal(row.member.data + LOB_ROW_HEAD, json, l.json_len);
    gw_buf_free(&row.member);
    gw_arena_fini(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_valid),
        cmocka_unit_test(test_text_valid),
        cmocka_unit_test(test_ticket),
        cmocka_unit_test(test_listing_row),
        cmocka_unit_test(test_numbers_and_keys),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
