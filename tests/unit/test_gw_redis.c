/*
 * test_gw_redis.c — gw_redis_append_argv writes the same RESP bytes as
 * hiredis' own formatter (gateway/gw_redis.c), after what the buffer held.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sds.h>

#include "gw_redis.h"

/* A context with an output buffer and no server (the connect fails). */
static redisContext *
test_ctx(void)
{
    redisContext *c = redisConnectUnix("/nonexistent/vas-test.sock");

    assert_non_null(c);
    assert_non_null(c->obuf);
    return c;
}

static void
test_append_argv_same_bytes(void **state)
{
    static char   big[70000];
    const char   *argv[5] = {"XADD", "", "a\r\nb\0c", big, "1234567890"};
    size_t        lens[5] = {4, 0, 6, sizeof(big), 10};
    redisContext *c = test_ctx();
    char         *want = NULL, *one = NULL;
    int           wlen, olen, argc;

    (void) state;
    memset(big, 'x', sizeof(big));
    big[100] = '\0';
    for (argc = 0; argc <= 5; argc++) {
        sdsclear(c->obuf);
        c->obuf = sdscatlen(c->obuf, "PING\r\n", 6); /* kept in front */
        wlen = redisFormatCommandArgv(&want, argc, argv, lens);
        assert_true(wlen > 0);
        assert_int_equal(gw_redis_append_argv(c, argc, argv, lens), REDIS_OK);
        assert_int_equal(sdslen(c->obuf), (size_t) wlen + 6);
        assert_memory_equal(c->obuf, "PING\r\n", 6);
        assert_memory_equal(c->obuf + 6, want, (size_t) wlen);
        assert_int_equal(c->obuf[sdslen(c->obuf)], '\0');
        free(want);
    }
    /* Two commands one after the other: each framed on its own. */
    sdsclear(c->obuf);
    assert_int_equal(gw_redis_append_argv(c, 1, argv, lens), REDIS_OK);
    assert_int_equal(gw_redis_append_argv(c, 1, argv, lens), REDIS_OK);
    olen = redisFormatCommandArgv(&one, 1, argv, lens);
    assert_int_equal(sdslen(c->obuf), 2 * (size_t) olen);
    assert_memory_equal(c->obuf + olen, one, (size_t) olen);
    free(one);
    assert_int_equal(gw_redis_append_argv(c, -1, argv, lens), REDIS_ERR);
    redisFree(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_argv_same_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
