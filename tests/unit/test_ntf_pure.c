/*
 * test_ntf_pure.c — pure logic of the notifications module: inbox keys,
 * ids and paging arguments, the inbox item text (its byte order is the
 * inbox order), the webhook signature, retry schedule and relay back-off
 * (notify/ntf_wire.c, ntf_inbox.c, ntf_webhook.c; gateway/gw_backoff.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cJSON.h>

#include "gw_status.h"
#include "gw_util.h"
#include "gw_backoff.h"
#include "gw_limits.h"
#include "ntf_inbox.h"
#include "ntf_webhook.h"
#include "ntf_wire.h"

#define ID_A "01a22326c3ddf94b1f00ff0159fc3d37"
#define ID_B "01a22326c3de000000000000000000aa"

static void
test_inbox_key(void **state)
{
    char key[NTF_INBOX_KEY_MAX];
    char small[12];
    char user[GW_USER_ID_MAX + 1];

    (void) state;
    assert_int_equal(ntf_inbox_key("im-42", key, sizeof(key)), 0);
    /* The hash tag must wrap exactly the user id, or Cluster spreads it. */
    assert_string_equal(key, "vas:inbox:{im-42}");
    assert_int_equal(ntf_inbox_key("", key, sizeof(key)), -1);
    assert_int_equal(ntf_inbox_key("im-42", small, sizeof(small)), -1);
    memset(user, 'u', GW_USER_ID_MAX);
    user[GW_USER_ID_MAX] = '\0';
    assert_int_equal(ntf_inbox_key(user, key, sizeof(key)), 0);
    assert_int_equal(strlen(key), strlen("vas:inbox:{}") + GW_USER_ID_MAX);
}

static void
test_id_valid(void **state)
{
    (void) state;
    assert_true(ntf_id_valid(ID_A));
    assert_false(ntf_id_valid(NULL));
    assert_false(ntf_id_valid(""));
    assert_false(ntf_id_valid("01A22326C3DDF94B1F00FF0159FC3D37"));
    assert_false(ntf_id_valid(ID_A "0"));
    assert_false(ntf_id_valid("01a22326c3ddf94b1f00ff0159fc3d3"));
    assert_false(ntf_id_valid("01a22326c3ddf94b1f00ff0159fc3d3g"));
}

/* Shorthand: parse with only after (the old argument) and limit. */
static int
parse_after(const char *after, const char *limit, int64_t *out,
            const char **why)
{
    struct ntf_inbox_query q;
    int rc = ntf_inbox_query_parse(NULL, NULL, after, limit, &q, why);

    *out = q.limit;
    return rc;
}

static void
test_parse_page(void **state)
{
    const char *why = NULL;
    int64_t     limit = 0;

    (void) state;
    assert_int_equal(parse_after(NULL, NULL, &limit, &why), GW_OK);
    assert_int_equal(limit, NTF_INBOX_LIMIT_DEFAULT);
    assert_int_equal(parse_after(ID_A, "1", &limit, &why), GW_OK);
    assert_int_equal(limit, 1);
    assert_int_equal(parse_after(NULL, "100", &limit, &why), GW_OK);
    assert_int_equal(limit, 100);
    assert_int_equal(parse_after(NULL, "0", &limit, &why), GW_EINVAL);
    assert_non_null(why);
    assert_int_equal(parse_after(NULL, "101", &limit, &why), GW_EINVAL);
    assert_int_equal(parse_after(NULL, "-5", &limit, &why), GW_EINVAL);
    assert_int_equal(parse_after(NULL, "5x", &limit, &why), GW_EINVAL);
    assert_int_equal(parse_after(NULL, "", &limit, &why), GW_EINVAL);
    assert_int_equal(parse_after("xyz", NULL, &limit, &why), GW_EINVAL);
    /* A ZREVRANGEBYLEX bound built from a bad "after" could escape "[(". */
    assert_int_equal(parse_after("(" ID_A, NULL, &limit, &why), GW_EINVAL);
}

static void
test_parse_since_and_cursor(void **state)
{
    struct ntf_inbox_query q;
    const char            *why = NULL;

    (void) state;
    assert_int_equal(ntf_inbox_query_parse(ID_A, NULL, NULL, "5", &q, &why),
                     GW_OK);
    assert_string_equal(q.since, ID_A);
    assert_null(q.cursor);
    assert_int_equal(q.limit, 5);
    /* after is cursor's old name: the same field. */
    assert_int_equal(ntf_inbox_query_parse(NULL, NULL, ID_B, NULL, &q, &why),
                     GW_OK);
    assert_string_equal(q.cursor, ID_B);
    assert_int_equal(ntf_inbox_query_parse(NULL, ID_A, NULL, NULL, &q, &why),
                     GW_OK);
    assert_string_equal(q.cursor, ID_A);
    /* Two orders at once, or two cursors, are refused, not guessed. */
    assert_int_equal(ntf_inbox_query_parse(ID_A, ID_B, NULL, NULL, &q, &why),
                     GW_EINVAL);
    assert_int_equal(ntf_inbox_query_parse(NULL, ID_A, ID_B, NULL, &q, &why),
                     GW_EINVAL);
    assert_int_equal(ntf_inbox_query_parse("", NULL, NULL, NULL, &q, &why),
                     GW_EINVAL);
    /* A since that is not an id could reach the script's ZSCORE bound. */
    assert_int_equal(
        ntf_inbox_query_parse("(" ID_A, NULL, NULL, NULL, &q, &why), GW_EINVAL);
}

static void
test_item_json(void **state)
{
    struct ntf_item it = {ID_A, "im-1", "gift.received",
                          "{\"from\":\"im-2\",\"n\":[1,2]}", 1795886072826LL};
    struct gw_buf   a = {0}, b = {0};
    cJSON          *o;

    (void) state;
    assert_int_equal(ntf_item_json(&it, &a), 0);
    assert_string_equal(a.data,
                        "{\"id\":\"" ID_A "\",\"type\":\"gift.received\","
                        "\"created_at\":\"2026-11-28T17:14:32.826Z\","
                        "\"data\":{\"from\":\"im-2\",\"n\":[1,2]}}");
    o = cJSON_Parse(a.data);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "id")->valuestring, ID_A);
    cJSON_Delete(o);
    /* A later id sorts after, whatever the type and payload: the inbox
     * order is the id order. */
    it.id = ID_B, it.type = "a", it.payload = "{}";
    assert_int_equal(ntf_item_json(&it, &b), 0);
    assert_true(strcmp(a.data, b.data) < 0);
    /* A type with quotes is escaped, never breaks the JSON. */
    b.len = 0;
    it.type = "x\"y";
    assert_int_equal(ntf_item_json(&it, &b), 0);
    o = cJSON_Parse(b.data);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "x\"y");
    cJSON_Delete(o);
    gw_buf_free(&a);
    gw_buf_free(&b);
}

static void
test_webhook_sign(void **state)
{
    char        sig[NTF_WEBHOOK_SIG_MAX], small[16];
    const char *body = "{\"a\":1}";

    (void) state;
    /* Vector from Python: hmac.new(b"whsec_test", b"1700000000.{\"a\":1}",
     * sha256).hexdigest() — the recipe in docs/notifications.md. */
    assert_int_equal(ntf_webhook_sign("whsec_test", 10, 1700000000, body,
                                      strlen(body), sig, sizeof(sig)),
                     0);
    assert_string_equal(sig,
                        "t=1700000000,v1=38877139021993b830af32feea6e18"
                        "a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
    /* The timestamp is signed too: another t gives another MAC. */
    assert_int_equal(ntf_webhook_sign("whsec_test", 10, 1700000001, body,
                                      strlen(body), small, sizeof(small)),
                     -1);
    assert_int_equal(ntf_webhook_sign("whsec_test", 10, 1700000001, body,
                                      strlen(body), sig, sizeof(sig)),
                     0);
    assert_null(strstr(sig, "38877139021993b8"));
}

static void
test_schedule(void **state)
{
    struct ntf_webhook_schedule s;
    char                        many[256] = "";
    int64_t                     d;
    int                         i;

    (void) state;
    assert_int_equal(ntf_webhook_schedule_parse("10 30  60", &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.delay_s[2], 60);
    assert_int_equal(ntf_webhook_schedule_parse("1,2", &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(ntf_webhook_schedule_parse("", &s), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(ntf_webhook_schedule_parse("0", &s), -1);
    assert_int_equal(ntf_webhook_schedule_parse("10 x", &s), -1);
    assert_int_equal(ntf_webhook_schedule_parse("99999999", &s), -1);
    for (i = 0; i <= NTF_WEBHOOK_SCHEDULE_MAX; i++) {
        memcpy(many + 2 * i, "1 ", 3);
    }
    assert_int_equal(ntf_webhook_schedule_parse(many, &s), -1);

    /* 3 delays: attempts 1..3 retry after them, attempt 4 dead-letters. */
    assert_int_equal(ntf_webhook_schedule_parse("5 7 9", &s), 0);
    assert_int_equal(ntf_webhook_next_delay(&s, 1, &d), 1);
    assert_int_equal(d, 5);
    assert_int_equal(ntf_webhook_next_delay(&s, 3, &d), 1);
    assert_int_equal(d, 9);
    assert_int_equal(ntf_webhook_next_delay(&s, 4, &d), 0);
    assert_int_equal(ntf_webhook_next_delay(&s, 0, &d), 0);
}

static void
test_backoff(void **state)
{
    int64_t ms = 0;
    int     i;

    (void) state;
    ms = gw_backoff_next(ms);
    assert_int_equal(ms, GW_BACKOFF_MIN_MS);
    assert_int_equal(gw_backoff_next(ms), 2 * GW_BACKOFF_MIN_MS);
    for (i = 0; i < 100; i++) {
        int64_t next = gw_backoff_next(ms);
        assert_true(next >= ms);
        assert_true(next <= GW_BACKOFF_MAX_MS);
        ms = next;
    }
    assert_int_equal(ms, GW_BACKOFF_MAX_MS);
}

/* ntf_webhook_addr_allowed on a textual address. */
static int
allowed(const char *text, const struct ntf_webhook_nets *allow)
{
    struct sockaddr_in  v4 = {0};
    struct sockaddr_in6 v6 = {0};

    if (inet_pton(AF_INET, text, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        return ntf_webhook_addr_allowed((struct sockaddr *) &v4, allow);
    }
    assert_int_equal(inet_pton(AF_INET6, text, &v6.sin6_addr), 1);
    v6.sin6_family = AF_INET6;
    return ntf_webhook_addr_allowed((struct sockaddr *) &v6, allow);
}

static void
test_webhook_addresses(void **state)
{
    struct ntf_webhook_nets none = {0}, lo;
    const char             *bad[] = {"127.0.0.1",
                                     "127.9.9.9",
                                     "169.254.169.254",
                                     "10.1.2.3",
                                     "172.16.0.1",
                                     "172.31.255.255",
                                     "192.168.1.1",
                                     "100.64.0.1",
                                     "0.0.0.0",
                                     "224.0.0.1",
                                     "255.255.255.255",
                                     "::1",
                                     "::",
                                     "fe80::1",
                                     "fd00::1",
                                     "ff02::1",
                                     "::ffff:127.0.0.1",
                                     "::ffff:169.254.169.254",
                                     "64:ff9b::a9fe:a9fe"};
    const char *good[] = {"8.8.8.8", "172.32.0.1",           "11.0.0.1",
                          "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"};
    size_t      i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (allowed(bad[i], &none)) {
            fail_msg("%s must be refused", bad[i]);
        }
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!allowed(good[i], &none)) {
            fail_msg("%s must be allowed", good[i]);
        }
    }
    /* The operator's allowlist opens exactly its networks. */
    assert_int_equal(ntf_webhook_nets_parse("127.0.0.0/8, ::1", &lo), 0);
    assert_int_equal(lo.n, 2);
    assert_true(allowed("127.0.0.1", &lo));
    assert_true(allowed("::1", &lo));
    assert_true(allowed("::ffff:127.0.0.1", &lo));
    assert_false(allowed("169.254.169.254", &lo));
    assert_false(allowed("10.0.0.1", &lo));
    assert_int_equal(ntf_webhook_nets_parse("10.1.0.0/16", &lo), 0);
    assert_true(allowed("10.1.200.3", &lo));
    assert_false(allowed("10.2.0.1", &lo));
    assert_int_equal(ntf_webhook_nets_parse("", &lo), 0);
    assert_int_equal(lo.n, 0);
    assert_int_equal(ntf_webhook_nets_parse("10.0.0.0/33", &lo), -1);
    assert_int_equal(ntf_webhook_nets_parse("10.0.0/8", &lo), -1);
    assert_int_equal(ntf_webhook_nets_parse("::1/129", &lo), -1);
    assert_int_equal(ntf_webhook_nets_parse("localhost", &lo), -1);
    assert_int_equal(ntf_webhook_nets_parse("1.2.3.4/x", &lo), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inbox_key),
        cmocka_unit_test(test_id_valid),
        cmocka_unit_test(test_parse_page),
        cmocka_unit_test(test_item_json),
        cmocka_unit_test(test_webhook_sign),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_parse_since_and_cursor),
        cmocka_unit_test(test_webhook_addresses),
    };

    return cmocka_run_group_tests_name("ntf_pure", tests, NULL, NULL);
}
