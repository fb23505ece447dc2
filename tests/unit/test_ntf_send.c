/*
 * test_ntf_send.c — ntf_send() against a real Redis (the
 * test stack's: VAS_REDIS_PORT, VAS_REDIS_HOST); skipped without one. The
 * entry must carry the same fields as the relay's, and the inbox item the
 * same text, so the push servers have one contract.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_config.h"
#include "gw_outbox.h"
#include "gw_redis.h"
#include "gw_status.h"
#include "gw_util.h"
#include "ntf_wire.h"

static int
setup(void **state)
{
    static struct gw_config cfg;
    static struct gw_redis  r;
    const char             *port = getenv("VAS_REDIS_PORT");
    const char             *host = getenv("VAS_REDIS_HOST");
    const char             *user = getenv("VAS_REDIS_GW_USER");
    const char             *pass = getenv("VAS_REDIS_GW_PASSWORD");
    char                    err[256];
    int64_t                 p;

    if (gw_config_load(&cfg, NULL, err, sizeof(err)) != 0
        || ntf_wire_init() != 0) {
        return -1;
    }
    /* The gateway's own ACL user: ntf_send must need nothing more. */
    snprintf(cfg.redis.user, sizeof(cfg.redis.user), "%s", user ? user : "");
    snprintf(cfg.redis_password, sizeof(cfg.redis_password), "%s",
             pass ? pass : "");
    if (port == NULL || gw_parse_i64(port, strlen(port), &p) != 0) {
        *state = NULL;
        return 0;
    }
    cfg.redis.port = p;
    snprintf(cfg.redis.host, sizeof(cfg.redis.host), "%s",
             host ? host : "127.0.0.1");
    gw_redis_init(&r, &cfg);
    *state = gw_redis_connect(&r) == GW_OK ? &r : NULL;
    return 0;
}

static int
teardown(void **state)
{
    if (*state != NULL) {
        gw_redis_fini(*state);
    }
    return 0;
}

static void
test_direct_entry_and_inbox(void **state)
{
    struct gw_redis *r = *state;
    redisReply      *rep, *f;
    char             id[GW_NOTIF_ID_LEN + 1], user[40], want[256];
    unsigned char    rnd[6];

    if (r == NULL) {
        skip();
    }
    gw_random_bytes(rnd, sizeof(rnd));
    gw_hex_encode(rnd, sizeof(rnd), user + snprintf(user, 8, "im-d-"));
    assert_int_equal(
        ntf_send(r, user, "lobby.invited", "{\"lobby_id\":\"L1\"}", id), GW_OK);
    assert_true(ntf_id_valid(id));
    assert_int_equal(gw_redis_cmd(r, NULL, &rep, "XREVRANGE %s + - COUNT 50",
                                  r->cfg->redis.notify_stream),
                     GW_OK);
    f = NULL;
    for (size_t i = 0; i < rep->elements && f == NULL; i++) {
        redisReply *fields = rep->element[i]->element[1];
        if (fields->elements == 10
            && strcmp(fields->element[1]->str, id) == 0) {
            f = fields;
        }
    }
    assert_non_null(f);
    assert_string_equal(f->element[0]->str, "id");
    assert_string_equal(f->element[2]->str, "user");
    assert_string_equal(f->element[3]->str, user);
    assert_string_equal(f->element[5]->str, "lobby.invited");
    assert_string_equal(f->element[7]->str, "{\"lobby_id\":\"L1\"}");
    assert_string_equal(f->element[8]->str, "created_at");
    snprintf(want, sizeof(want),
             "{\"id\":\"%s\",\"type\":\"lobby.invited\",\"created_at\":\"%s\","
             "\"data\":{\"lobby_id\":\"L1\"}}",
             id, f->element[9]->str);
    freeReplyObject(rep);
    assert_int_equal(
        gw_redis_cmd(r, NULL, &rep, "ZRANGE vas:inbox:{%s} 0 -1", user), GW_OK);
    assert_int_equal(rep->elements, 1);
    assert_string_equal(rep->element[0]->str, want);
    freeReplyObject(rep);
}

/* Appends one item (fixed id) the way the relay does; GW_OK or a status. */
static int
append_once(struct gw_redis *r, const struct ntf_item *it)
{
    struct gw_buf json = {0};
    int           rc = GW_ERROR;

    if (ntf_item_json(it, &json) == 0
        && ntf_append(r, it, json.data, json.len) == 0) {
        rc = ntf_append_read(r, it->id);
    }
    gw_buf_free(&json);
    return rc;
}

static void
test_redelivery_is_a_no_op_in_the_inbox(void **state)
{
    struct gw_redis *r = *state;
    struct ntf_item  a, b;
    redisReply      *rep;
    char             user[40], ida[NTF_ID_LEN + 1], idb[NTF_ID_LEN + 1];
    unsigned char    rnd[6];

    if (r == NULL) {
        skip();
    }
    gw_random_bytes(rnd, sizeof(rnd));
    gw_hex_encode(rnd, sizeof(rnd), user + snprintf(user, 8, "im-r-"));
    gw_outbox_id_new(ida);
    gw_outbox_id_new(idb);
    a.id = ida, a.user = user, a.type = "gift.received", a.payload = "{}";
    a.created_ms = gw_now_ms();
    b = a;
    b.id = idb;
    assert_int_equal(ntf_scripts_load(r), GW_OK);
    /* a, b, then a again (an at-least-once re-delivery). */
    assert_int_equal(append_once(r, &a), GW_OK);
    assert_int_equal(append_once(r, &b), GW_OK);
    assert_int_equal(append_once(r, &a), GW_OK);
    assert_int_equal(gw_redis_cmd(r, NULL, &rep, "ZCARD vas:inbox:{%s}", user),
                     GW_OK);
    assert_int_equal(rep->integer, 2);
    freeReplyObject(rep);
    /* The log records every delivery in order: a, b, a. */
    assert_int_equal(
        gw_redis_cmd(r, NULL, &rep, "XRANGE vas:inboxlog:{%s} - +", user),
        GW_OK);
    assert_int_equal(rep->elements, 3);
    assert_string_equal(rep->element[0]->element[1]->element[1]->str, ida);
    assert_string_equal(rep->element[1]->element[1]->element[1]->str, idb);
    assert_string_equal(rep->element[2]->element[1]->element[1]->str, ida);
    freeReplyObject(rep);
    /* since a: only b (a's second copy is a re-delivery, skipped). */
    assert_int_equal(
        gw_redis_cmd(r, NULL, &rep,
                     "EVALSHA %s 2 vas:inbox:{%s} vas:inboxlog:{%s}"
                     " %s 10",
                     ntf_script_since_sha(), user, user, ida),
        GW_OK);
    assert_int_equal(rep->elements, 1);
    assert_non_null(strstr(rep->element[0]->str, idb));
    freeReplyObject(rep);
    /* since b: nothing. From the start: a then b, once each. */
    assert_int_equal(
        gw_redis_cmd(r, NULL, &rep,
                     "EVALSHA %s 2 vas:inbox:{%s} vas:inboxlog:{%s}"
                     " %s 10",
                     ntf_script_since_sha(), user, user, idb),
        GW_OK);
    assert_int_equal(rep->elements, 0);
    freeReplyObject(rep);
    assert_int_equal(
        gw_redis_cmd(r, NULL, &rep,
                     "EVALSHA %s 2 vas:inbox:{%s} vas:inboxlog:{%s}"
                     " %s 10",
                     ntf_script_since_sha(), user, user, ""),
        GW_OK);
    assert_int_equal(rep->elements, 2);
    assert_non_null(strstr(rep->element[0]->str, ida));
    assert_non_null(strstr(rep->element[1]->str, idb));
    freeReplyObject(rep);
}

static void
test_direct_rejects_bad_input(void **state)
{
    struct gw_redis *r = *state;

    if (r == NULL) {
        skip();
    }
    assert_int_equal(ntf_send(r, "", "t", "{}", NULL), GW_EINVAL);
    assert_int_equal(ntf_send(r, "u", "", "{}", NULL), GW_EINVAL);
    assert_int_equal(ntf_send(r, "u", "t", "[1]", NULL), GW_EINVAL);
    assert_int_equal(ntf_send(r, "u", "t", NULL, NULL), GW_EINVAL);
    /* Not JSON: it would make the inbox answer invalid JSON. */
    assert_int_equal(ntf_send(r, "u", "t", "{\"a\":", NULL), GW_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_entry_and_inbox),
        cmocka_unit_test(test_direct_rejects_bad_input),
        cmocka_unit_test(test_redelivery_is_a_no_op_in_the_inbox),
    };

    return cmocka_run_group_tests_name("ntf_send", tests, setup, teardown);
}
