/*
 * test_gw_config.c — the INI configuration (gateway/gw_config.c): defaults,
 * file values, errors that name the key and line, ranges, environment
 * overrides, string limits, secrets files and the dump round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_config.h"

struct fixture {
    char             dir[64];
    char             path[128];
    char             err[512];
    struct gw_config cfg;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_gw_config.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/vasgw.ini", f->dir);
    unsetenv("VASGW_SERVER_WORKERS");
    unsetenv("VASGW_SERVER_SOCKET");
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char            p[192];

    unsetenv("VASGW_SERVER_WORKERS");
    unsetenv("VASGW_SERVER_SOCKET");
    unlink(f->path);
    snprintf(p, sizeof(p), "%s/secret", f->dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/dump.ini", f->dir);
    unlink(p);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void
write_file(const char *path, const char *text, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    fclose(fp);
}

/* Writes text as the config file and loads it; returns gw_config_load's rc. */
static int
load(struct fixture *f, const char *text)
{
    write_file(f->path, text, strlen(text));
    f->err[0] = '\0';
    return gw_config_load(&f->cfg, f->path, f->err, sizeof(f->err));
}

/* Fails unless the error starts with "PATH:line:" and contains want. */
static void
assert_err(struct fixture *f, int line, const char *want)
{
    char prefix[192];

    snprintf(prefix, sizeof(prefix), "%s:%d:", f->path, line);
    if (strncmp(f->err, prefix, strlen(prefix)) != 0
        || strstr(f->err, want) == NULL) {
        fail_msg("error '%s': want prefix '%s' and '%s'", f->err, prefix, want);
    }
}

/* Defaults without a file (a missing default would leave 0 workers or an
 * empty socket path). */
static void
test_defaults(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(gw_config_load(&f->cfg, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(f->cfg.server.workers, 2);
    assert_int_equal(f->cfg.server.threads, 64);
    assert_int_equal(f->cfg.server.max_requests, 200000);
    assert_int_equal(f->cfg.server.debug_routes, 0);
    assert_int_equal(f->cfg.limits.body_max_bytes, 65536);
    assert_int_equal(f->cfg.limits.json_depth_max, 32);
    assert_int_equal(f->cfg.auth.clock_skew_s, 60);
    assert_int_equal(f->cfg.billing.day_offset_min, 480);
    assert_string_equal(f->cfg.server.metrics_trusted, "127.0.0.1 ::1");
    assert_string_equal(f->cfg.billing.currency, "CNY");
    assert_string_equal(f->cfg.redis.notify_stream, "vas:notify");
    assert_string_equal(f->cfg.path, "");
    /* An empty file gives the same defaults. */
    assert_int_equal(load(f, ""), 0);
    assert_int_equal(f->cfg.server.workers, 2);
    assert_string_equal(f->cfg.path, f->path);
}

/* Values from the file, comments, spaces, repeated sections (the stack
 * script appends keys in a second [section]), negative numbers, the
 * inclusive ends of a range. */
static void
test_file_values(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load(f,
                          "; comment\n# another\n[server]\n"
                          "workers = 64\nthreads=1  \n"
                          "socket = /tmp/x y.sock\n"
                          "metrics_trusted = 10.0.0.1 127.0.0.1\n"
                          "[billing]\nday_offset_min = -720\n"
                          "[server]\ndebug_routes = 1\n"),
                     0);
    assert_int_equal(f->cfg.server.workers, 64);
    assert_int_equal(f->cfg.server.threads, 1);
    assert_int_equal(f->cfg.server.debug_routes, 1);
    assert_int_equal(f->cfg.billing.day_offset_min, -720);
    assert_string_equal(f->cfg.server.socket, "/tmp/x y.sock");
    assert_string_equal(f->cfg.server.metrics_trusted, "10.0.0.1 127.0.0.1");
    /* Untouched keys keep their defaults. */
    assert_int_equal(f->cfg.limits.body_max_bytes, 65536);
}

/* Unknown keys and sections are errors naming the key and its line (a typo
 * must not silently fall back to a default). */
static void
test_unknown(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load(f, "[server]\nworkers = 2\nworkres = 3\n"), -1);
    assert_err(f, 3, "[server] workres");
    assert_int_equal(load(f, "[server]\n[sever]\nworkers = 2\n"), -1);
    assert_err(f, 3, "[sever] workers");
    /* A key before any section. */
    assert_int_equal(load(f, "workers = 2\n"), -1);
    assert_err(f, 1, "workers");
    /* A key that exists in another section only. */
    assert_int_equal(load(f, "[redis]\nworkers = 2\n"), -1);
    assert_err(f, 2, "[redis] workers");
}

/* Integers: not a number, trailing junk, spaces inside, hex, floats,
 * empty, below/above range, int64 overflow — all refused with the key, the
 * value and the range in the message. */
static void
test_bad_ints(void **state)
{
    static const char *bad[] = {
        "abc", "2x", "1 2", "0x10", "1.5",
        "",    "0",  "65",  "-1",   "99999999999999999999",
        "+2",
    };
    struct fixture *f = *state;
    char            text[128];
    size_t          i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "[server]\n\nworkers = %s\n", bad[i]);
        assert_int_equal(load(f, text), -1);
        assert_err(f, 3, "[server] workers");
        assert_non_null(strstr(f->err, "1..64"));
    }
    assert_int_equal(load(f, "[server]\nworkers = 1\n"), 0);
    assert_int_equal(load(f, "[limits]\nbody_max_bytes = 1048577\n"), -1);
    assert_err(f, 2, "body_max_bytes");
    assert_int_equal(load(f, "[limits]\njson_depth_max = 65\n"), -1);
    assert_int_equal(load(f, "[mysql]\nport = 65536\n"), -1);
    assert_int_equal(load(f, "[server]\nrelay = 2\n"), -1);
}

/* The first error is the one reported, with its own line: a later error
 * must not overwrite the reason while the line number stays the first. */
static void
test_first_error_wins(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load(f, "[server]\nbogus = 1\nworkers = 0\n"), -1);
    assert_err(f, 2, "bogus");
    assert_null(strstr(f->err, "workers"));
}

/* Syntax errors carry the line; a missing file is named. */
static void
test_syntax(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load(f, "[server]\nworkers = 2\n[limits\n"), -1);
    assert_err(f, 3, "");
    assert_int_equal(load(f, "[server]\njust some words\n"), -1);
    assert_err(f, 2, "");
    unlink(f->path);
    assert_int_equal(gw_config_load(&f->cfg, f->path, f->err, sizeof(f->err)),
                     -1);
    assert_non_null(strstr(f->err, f->path));
}

/* Strings: exactly size-1 bytes fit, one more is an error (no silent
 * truncation of a socket path or secret file name); currency must be 3
 * letters. Long values come through the environment: inih reads at most
 * INI_MAX_LINE bytes a line, so a longer file line must be an error with
 * its own line number, not a value cut short (or a line whose tail is a
 * comment silently dropped). */
static void
test_string_limits(void **state)
{
    struct fixture *f = *state;
    char           *text = malloc(2048);
    char            val[GW_CONFIG_PATH_MAX + 2];

    memset(val, 'p', sizeof(val));
    val[0] = '/';
    val[GW_CONFIG_PATH_MAX - 1] = '\0';
    setenv("VASGW_SERVER_SOCKET", val, 1);
    assert_int_equal(load(f, ""), 0);
    assert_int_equal(strlen(f->cfg.server.socket), GW_CONFIG_PATH_MAX - 1);
    val[GW_CONFIG_PATH_MAX - 1] = 'p';
    val[GW_CONFIG_PATH_MAX] = '\0';
    setenv("VASGW_SERVER_SOCKET", val, 1);
    assert_int_equal(load(f, ""), -1);
    assert_non_null(strstr(f->err, "[server] socket"));
    assert_non_null(strstr(f->err, "VASGW_SERVER_SOCKET"));
    unsetenv("VASGW_SERVER_SOCKET");

    /* In the file: 150 bytes are fine, 300 are refused at their line. */
    val[150] = '\0';
    snprintf(text, 2048, "[server]\nsocket = %s\nworkers = 3\n", val);
    assert_int_equal(load(f, text), 0);
    assert_string_equal(f->cfg.server.socket, val);
    val[150] = 'p';
    val[300] = '\0';
    snprintf(text, 2048, "[server]\nworkers = 3\nsocket = %s\n", val);
    assert_int_equal(load(f, text), -1);
    assert_err(f, 3, "longer");
    val[180] = '\0';
    snprintf(text, 2048,
             "[server]\nsocket = %s   ; a comment that makes"
             " the line long\n",
             val);
    assert_int_equal(load(f, text), -1);
    assert_err(f, 2, "longer");
    /* A value longer than its field: [billing] currency (8 bytes). */
    assert_int_equal(load(f, "[billing]\ncurrency = RMBYUANXX\n"), -1);
    assert_err(f, 2, "[billing] currency");
    free(text);

    assert_int_equal(load(f, "[billing]\ncurrency = EUR\n"), 0);
    assert_string_equal(f->cfg.billing.currency, "EUR");
    assert_int_equal(load(f, "[billing]\ncurrency = EURO\n"), -1);
    assert_non_null(strstr(f->err, "currency"));
}

/* VASGW_<SECTION>_<KEY> overrides the file; a bad value names the
 * variable. */
static void
test_env_override(void **state)
{
    struct fixture *f = *state;

    setenv("VASGW_SERVER_WORKERS", "7", 1);
    setenv("VASGW_SERVER_SOCKET", "/tmp/env.sock", 1);
    assert_int_equal(load(f, "[server]\nworkers = 3\nsocket = /tmp/f.sock\n"),
                     0);
    assert_int_equal(f->cfg.server.workers, 7);
    assert_string_equal(f->cfg.server.socket, "/tmp/env.sock");
    assert_int_equal(gw_config_load(&f->cfg, NULL, f->err, sizeof(f->err)), 0);
    assert_int_equal(f->cfg.server.workers, 7);

    setenv("VASGW_SERVER_WORKERS", "100", 1);
    assert_int_equal(load(f, "[server]\nworkers = 3\n"), -1);
    assert_non_null(strstr(f->err, "VASGW_SERVER_WORKERS"));
    assert_non_null(strstr(f->err, "workers"));
    setenv("VASGW_SERVER_WORKERS", "", 1);
    assert_int_equal(load(f, ""), -1);
    unsetenv("VASGW_SERVER_WORKERS");
    unsetenv("VASGW_SERVER_SOCKET");
    assert_int_equal(load(f, "[server]\nworkers = 3\n"), 0);
    assert_int_equal(f->cfg.server.workers, 3);
}

/* Whole-file reads: newline stripping (one "\n" or "\r\n" only), empty
 * files, missing files, and the size limit: a file of exactly cap bytes is
 * read whole ("at most cap bytes"), one byte more is refused, never
 * truncated. */
static void
test_read_file(void **state)
{
    struct fixture *f = *state;
    char            p[192], buf[32];

    snprintf(p, sizeof(p), "%s/secret", f->dir);
    write_file(p, "pw\n", 3);
    assert_int_equal(gw_config_read_file(p, buf, 16, 1), 2);
    assert_memory_equal(buf, "pw", 2);
    assert_int_equal(gw_config_read_file(p, buf, sizeof(buf), 0), 3);
    write_file(p, "pw\r\n", 4);
    assert_int_equal(gw_config_read_file(p, buf, 16, 1), 2);
    write_file(p, "pw\n\n", 4);
    assert_int_equal(gw_config_read_file(p, buf, sizeof(buf), 1), 3);
    write_file(p, "", 0);
    assert_int_equal(gw_config_read_file(p, buf, sizeof(buf), 1), 0);
    write_file(p, "\n", 1);
    assert_int_equal(gw_config_read_file(p, buf, sizeof(buf), 1), 0);
    write_file(p, "a\0b", 3);
    assert_int_equal(gw_config_read_file(p, buf, sizeof(buf), 0), 3);
    assert_memory_equal(buf, "a\0b", 3);

    write_file(p, "0123456789abcdef", 16);
    assert_int_equal(gw_config_read_file(p, buf, 16, 0), 16);
    assert_memory_equal(buf, "0123456789abcdef", 16);
    write_file(p, "0123456789abcdefX", 17);
    assert_int_equal(gw_config_read_file(p, buf, 16, 0), -1);
    assert_int_equal(gw_config_read_file(p, buf, 17, 0), 17);

    assert_int_equal(gw_config_read_file("/nonexistent/x", buf, 16, 0), -1);
    assert_int_equal(gw_config_read_file(f->dir, buf, 16, 0), -1);
}

/* Secrets: the key is the exact bytes (newline kept); short keys and
 * missing files are refused with the file named. */
static void
test_secrets(void **state)
{
    struct fixture *f = *state;
    char            p[192], text[1024];

    snprintf(p, sizeof(p), "%s/secret", f->dir);
    write_file(p, "0123456789abcdef\n", 17);
    snprintf(text, sizeof(text),
             "[auth]\ntoken_secret_file = %s\n[downloads]\nsecret_file = %s\n"
             "[mysql]\npassword_file = %s\n[lobby]\nticket_secret_file = %s\n",
             p, p, p, p);
    assert_int_equal(load(f, text), 0);
    assert_int_equal(gw_config_load_secrets(&f->cfg, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(f->cfg.token_secret_len, 17);
    assert_memory_equal(f->cfg.token_secret, "0123456789abcdef\n", 17);
    assert_string_equal(f->cfg.mysql_password, "0123456789abcdef");
    assert_int_equal(f->cfg.ticket_secret_len, 17);

    write_file(p, "short\n", 6);
    assert_int_equal(gw_config_load_secrets(&f->cfg, f->err, sizeof(f->err)),
                     -1);
    assert_non_null(strstr(f->err, p));
    unlink(p);
    assert_int_equal(gw_config_load_secrets(&f->cfg, f->err, sizeof(f->err)),
                     -1);
    assert_non_null(strstr(f->err, p));
}

/* The dump is a valid config that loads back to the same values (the dump
 * is what --check-config prints; a key dumped in a form the parser does
 * not take would break that promise). */
static void
test_dump_round_trip(void **state)
{
    struct fixture   *f = *state;
    struct gw_config *back = malloc(sizeof(*back));
    char              p[192];
    FILE             *fp;

    assert_int_equal(load(f,
                          "[server]\nworkers = 5\nsocket = /tmp/s.sock\n"
                          "[billing]\nday_offset_min = -60\n"),
                     0);
    snprintf(p, sizeof(p), "%s/dump.ini", f->dir);
    fp = fopen(p, "w");
    assert_non_null(fp);
    gw_config_dump(&f->cfg, fp);
    fclose(fp);
    assert_int_equal(gw_config_load(back, p, f->err, sizeof(f->err)), 0);
    assert_int_equal(back->server.workers, 5);
    assert_int_equal(back->billing.day_offset_min, -60);
    assert_string_equal(back->server.socket, "/tmp/s.sock");
    memcpy(back->path, f->cfg.path, sizeof(back->path));
    assert_memory_equal(back, &f->cfg, sizeof(*back));
    free(back);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),      T(test_file_values),      T(test_unknown),
        T(test_bad_ints),      T(test_first_error_wins), T(test_syntax),
        T(test_string_limits), T(test_env_override),     T(test_read_file),
        T(test_secrets),       T(test_dump_round_trip),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
