/*
 * test_gw_json.c — request-body JSON limits and typed getters
 * (gateway/gw_json.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_arena.h"
#include "gw_json.h"
#include "gw_status.h"

#define TD(s, max) gw_json_too_deep(s, strlen(s), max)

static int
setup(void **state)
{
    struct gw_arena *a = malloc(sizeof(*a));

    if (a == NULL || gw_arena_init(a) != 0) {
        free(a);
        return -1;
    }
    *state = a;
    return 0;
}

static int
teardown(void **state)
{
    gw_arena_fini(*state);
    free(*state);
    return 0;
}

/* Builds "[[[...]]]" nested n deep (caller frees). */
static char *
nested(int n, char open, char close)
{
    char *s = malloc((size_t) n * 2 + 1);
    int   i;

    for (i = 0; i < n; i++) {
        s[i] = open;
        s[n + i] = close;
    }
    s[2 * n] = '\0';
    return s;
}

static int
parse(struct gw_arena *a, const char *text, size_t len, cJSON **out,
      const char **why)
{
    *why = NULL;
    return gw_json_parse(a, text, len, 32, out, why);
}

static cJSON *
parse_ok(struct gw_arena *a, const char *text)
{
    const char *why;
    cJSON      *j = NULL;

    assert_int_equal(parse(a, text, strlen(text), &j, &why), GW_OK);
    assert_non_null(j);
    return j;
}

/* Depth counting: exactly max passes, max+1 fails; brackets in strings
 * (also after escaped quotes and backslashes) do not count. A miscount
 * either lets a stack-exhausting body reach cJSON or refuses a valid one. */
static void
test_too_deep(void **state)
{
    char *s;

    (void) state;
    s = nested(32, '[', ']');
    assert_int_equal(gw_json_too_deep(s, strlen(s), 32), 0);
    free(s);
    s = nested(33, '[', ']');
    assert_int_equal(gw_json_too_deep(s, strlen(s), 32), 1);
    free(s);
    s = nested(100, '{', '}');
    assert_int_equal(gw_json_too_deep(s, strlen(s), 32), 1);
    free(s);
    /* Mixed objects and arrays add up. */
    assert_int_equal(TD("{\"a\":[{\"b\":[1]}]}", 3), 1);
    assert_int_equal(TD("{\"a\":[{\"b\":[1]}]}", 4), 0);
    /* Siblings do not add up. */
    assert_int_equal(TD("[[],[],[],[]]", 2), 0);
    /* Inside strings. */
    assert_int_equal(TD("{\"a\":\"[[[[[[\"}", 1), 0);
    assert_int_equal(TD("{\"a\":\"\\\"[[[[\"}", 1), 0);
    /* "\\\\" ends with a real quote: the brackets after it count. */
    assert_int_equal(TD("[\"\\\\\",[[]]]", 2), 1);
    assert_int_equal(TD("[\"\\\\\",[[]]]", 3), 0);
    /* len bounds the scan. */
    assert_int_equal(gw_json_too_deep("[[[[", 2, 2), 0);
    assert_int_equal(gw_json_too_deep("", 0, 1), 0);
}

/* Whole-body rules: empty, NUL, trailing garbage, two values, too deep,
 * malformed → GW_EINVAL with a reason; trailing whitespace is fine. */
static void
test_parse_invalid(void **state)
{
    struct gw_arena *a = *state;
    const char      *why;
    cJSON           *j;
    char            *s;

    assert_int_equal(parse(a, "", 0, &j, &why), GW_EINVAL);
    assert_non_null(why);
    assert_null(j);
    assert_int_equal(parse(a, "{}", 0, &j, &why), GW_EINVAL);
    assert_int_equal(parse(a, "{\"a\":\"x\0y\"}", 11, &j, &why), GW_EINVAL);
    assert_non_null(strstr(why, "NUL"));
    assert_int_equal(parse(a, "{}\0", 3, &j, &why), GW_EINVAL);
    assert_int_equal(parse(a, "{} x", 4, &j, &why), GW_EINVAL);
    assert_non_null(strstr(why, "trailing"));
    assert_int_equal(parse(a, "{}{}", 4, &j, &why), GW_EINVAL);
    assert_int_equal(parse(a, "{\"a\":1}]", 8, &j, &why), GW_EINVAL);
    assert_int_equal(parse(a, "{\"a\":", 5, &j, &why), GW_EINVAL);
    assert_int_equal(parse(a, "{'a':1}", 7, &j, &why), GW_EINVAL);
    assert_int_equal(parse(a, "nul", 3, &j, &why), GW_EINVAL);
    assert_int_equal(parse(a, "   ", 3, &j, &why), GW_EINVAL);
    s = nested(100, '[', ']');
    assert_int_equal(parse(a, s, strlen(s), &j, &why), GW_EINVAL);
    assert_non_null(strstr(why, "deep"));
    free(s);
    /* len is honoured: the valid prefix alone parses, the rest is not read. */
    assert_int_equal(parse(a, "{\"a\":1}GARBAGE", 7, &j, &why), GW_OK);
    assert_non_null(j);
    gw_arena_reset(a);
}

/* A member named twice, at any depth and in objects small (pairwise) and
 * large (sorted), is refused; the same name in sibling objects, in an
 * array of objects or as a string value is not a repeat. */
static void
test_parse_dup_names(void **state)
{
    struct gw_arena *a = *state;
    const char      *why;
    cJSON           *j;
    char             big[2048];
    size_t           n = 0;
    int              i;

#define DUP(s) parse(a, s, strlen(s), &j, &why)
    assert_int_equal(DUP("{\"a\":1,\"a\":2}"), GW_EINVAL);
    assert_non_null(strstr(why, "twice"));
    assert_int_equal(DUP("{\"a\":1,\"b\":{\"c\":1,\"c\":1}}"), GW_EINVAL);
    assert_int_equal(DUP("[{\"a\":1},{\"b\":1,\"b\":null}]"), GW_EINVAL);
    assert_int_equal(DUP("{\"\":1,\"\":1}"), GW_EINVAL);
    assert_int_equal(DUP("{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}],"
                         "\"c\":\"a\"}"),
                     GW_OK);
    /* Case and escapes: "A" is another name, "\u0061" is "a". */
    assert_int_equal(DUP("{\"a\":1,\"A\":2}"), GW_OK);
    assert_int_equal(DUP("{\"a\":1,\"\\u0061\":2}"), GW_EINVAL);
#undef DUP
    /* 40 members (sorted path): distinct pass, one repeat anywhere fails. */
    n += (size_t) snprintf(big + n, sizeof(big) - n, "{");
    for (i = 0; i < 40; i++) {
        n += (size_t) snprintf(big + n, sizeof(big) - n, "%s\"m%d\":%d",
                               i ? "," : "", i, i);
    }
    snprintf(big + n, sizeof(big) - n, "}");
    assert_int_equal(parse(a, big, n + 1, &j, &why), GW_OK);
    snprintf(big + n, sizeof(big) - n, ",\"m17\":0}");
    assert_int_equal(parse(a, big, strlen(big), &j, &why), GW_EINVAL);
    assert_int_equal(gw_json_dup_names(NULL), 0);
    gw_arena_reset(a);
}

/* Numbers keep RFC 8259's grammar (strtod, which cJSON uses, takes more);
 * digits inside strings are not numbers. */
static void
test_parse_number_grammar(void **state)
{
    static const char *const bad[] = {
        "[01]",        "[-01]",   "[00]",    "[1.]",    "[1.e5]",
        "[-]",         "[1e]",    "[1e+]",   "[.5]",    "[1.5.5]",
        "[1e5e5]",     "[1e+-5]", "[--1]",   "[+1]",    "[0x10]",
        "{\"a\":007}", "[1-2]",   "\x01[1]", "[\0131]", /* \013 (VT, an octal
                                                           escape: at most three
                                                           digits) */
        "[1\x1f]",
    };
    static const char *const good[] = {
        "[0]",
        "[-0]",
        "[10]",
        "[0.5]",
        "[-0.0]",
        "[1e5]",
        "[1E+05]",
        "[1e-007]",
        "[12.50e0]",
        "[1,2,-3]",
        "{\"01\":\"1.\",\"b\":[0,1]}",
        "[ 1 , 2 ]",
        "{\"a\":-9007199254740991}",
    };
    struct gw_arena *a = *state;
    const char      *why;
    cJSON           *j;
    size_t           i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(a, bad[i], strlen(bad[i]), &j, &why), GW_EINVAL);
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(parse(a, good[i], strlen(good[i]), &j, &why), GW_OK);
    }
    gw_arena_reset(a);
}

/* Valid bodies: whitespace around, nesting at the limit, UTF-8 strings;
 * the tree is owned by the arena (valgrind/ASan report a leak if not). */
static void
test_parse_valid(void **state)
{
    struct gw_arena *a = *state;
    cJSON           *j;
    char            *s;
    const char      *why;

    j = parse_ok(a,
                 " \n\t{\"a\": [1, 2, {\"b\": null}], \"t\": \"\xe9\x93\x83\"}"
                 " \r\n");
    assert_true(cJSON_IsObject(j));
    assert_string_equal(cJSON_GetObjectItem(j, "t")->valuestring,
                        "\xe9\x93\x83");
    j = parse_ok(a, "[1]");
    assert_true(cJSON_IsArray(j));
    j = parse_ok(a, "12");
    assert_true(cJSON_IsNumber(j));
    s = nested(32, '[', ']');
    assert_int_equal(parse(a, s, strlen(s), &j, &why), GW_OK);
    free(s);
    s = gw_json_print(a, parse_ok(a, "{ \"k\" : [ true , false ] }"));
    assert_string_equal(s, "{\"k\":[true,false]}");
    gw_arena_reset(a);
}

/* Integers: cJSON keeps doubles, so 2^53+1 arrives as 2^53 and 2^63 as a
 * rounded double; both must be refused rather than silently changed (an
 * amount off by one). Fractions, strings, booleans, out-of-range values
 * and non-finite numbers are refused; min/max are inclusive. */
static void
test_get_i64(void **state)
{
    struct gw_arena *a = *state;
    const char      *why;
    int64_t          v;
    int              present;
    cJSON           *j;

    j = parse_ok(a,
                 "{\"ok\":42,\"neg\":-5,\"big\":9007199254740993,"
                 "\"p53\":9007199254740992,\"max\":9007199254740991,"
                 "\"min\":-9007199254740991,\"p63\":9223372036854775808,"
                 "\"half\":1.5,\"str\":\"1\",\"t\":true,\"n\":null,"
                 "\"e2\":1e2,\"inf\":1e400,\"ninf\":-1e400,\"z\":-0,"
                 "\"arr\":[1],\"lo\":0,\"hi\":101}");
#define GET(name, req, lo, hi)                                                 \
    gw_json_get_i64(a, j, name, req, lo, hi, &v, &present, &why)
    assert_int_equal(GET("ok", 1, 0, 100), GW_OK);
    assert_true(v == 42);
    assert_int_equal(present, 1);
    assert_int_equal(GET("neg", 1, -10, 10), GW_OK);
    assert_true(v == -5);
    assert_int_equal(GET("neg", 1, 0, 10), GW_EINVAL);
    assert_non_null(strstr(why, "neg"));
    assert_int_equal(GET("max", 1, INT64_MIN, INT64_MAX), GW_OK);
    assert_true(v == 9007199254740991LL);
    assert_int_equal(GET("min", 1, INT64_MIN, INT64_MAX), GW_OK);
    assert_true(v == -9007199254740991LL);
    v = 7;
    assert_int_equal(GET("big", 1, INT64_MIN, INT64_MAX), GW_EINVAL);
    assert_true(v == 7);
    assert_int_equal(GET("p53", 1, INT64_MIN, INT64_MAX), GW_EINVAL);
    assert_int_equal(GET("p63", 1, INT64_MIN, INT64_MAX), GW_EINVAL);
    assert_int_equal(GET("half", 1, INT64_MIN, INT64_MAX), GW_EINVAL);
    assert_non_null(strstr(why, "half"));
    assert_int_equal(GET("str", 1, INT64_MIN, INT64_MAX), GW_EINVAL);
    assert_non_null(strstr(why, "str"));
    assert_int_equal(GET("t", 1, INT64_MIN, INT64_MAX), GW_EINVAL);
    assert_int_equal(GET("arr", 1, INT64_MIN, INT64_MAX), GW_EINVAL);
    assert_int_equal(GET("inf", 1, INT64_MIN, INT64_MAX), GW_EINVAL);
    assert_int_equal(GET("ninf", 1, INT64_MIN, INT64_MAX), GW_EINVAL);
    assert_int_equal(GET("e2", 1, 0, 100), GW_OK);
    assert_true(v == 100);
    assert_int_equal(GET("z", 1, 0, 0), GW_OK);
    assert_true(v == 0);
    /* Bounds are inclusive. */
    assert_int_equal(GET("lo", 1, 0, 100), GW_OK);
    assert_int_equal(GET("lo", 1, 1, 100), GW_EINVAL);
    assert_int_equal(GET("hi", 1, 0, 101), GW_OK);
    assert_int_equal(GET("hi", 1, 0, 100), GW_EINVAL);
    /* Missing / null: an error only when required; *out untouched. */
    v = 9;
    assert_int_equal(GET("nope", 0, 0, 100), GW_OK);
    assert_int_equal(present, 0);
    assert_true(v == 9);
    assert_int_equal(GET("n", 0, 0, 100), GW_OK);
    assert_int_equal(present, 0);
    assert_int_equal(GET("nope", 1, 0, 100), GW_EINVAL);
    assert_non_null(strstr(why, "'nope' is required"));
    assert_int_equal(GET("n", 1, 0, 100), GW_EINVAL);
    /* present may be NULL. */
    assert_int_equal(gw_json_get_i64(a, j, "ok", 1, 0, 100, &v, NULL, &why),
                     GW_OK);
#undef GET
    /* Not an object. */
    j = parse_ok(a, "[42]");
    assert_int_equal(gw_json_get_i64(a, j, "ok", 0, 0, 100, &v, NULL, &why),
                     GW_EINVAL);
    gw_arena_reset(a);
}

/* Strings: type, empty, length limit in characters (a 3-byte CJK
 * character counts one), null. */
static void
test_get_str(void **state)
{
    struct gw_arena *a = *state;
    const char      *why, *s = "untouched";
    int              present;
    cJSON           *j;

    j = parse_ok(a,
                 "{\"s\":\"abc\",\"e\":\"\",\"n\":12,\"b\":false,"
                 "\"u\":\"\xe9\x93\x83\",\"nul\":null,\"o\":{}}");
#define GET(name, req, max)                                                    \
    gw_json_get_str(a, j, name, req, max, &s, &present, &why)
    assert_int_equal(GET("s", 1, 3), GW_OK);
    assert_string_equal(s, "abc");
    assert_int_equal(present, 1);
    assert_int_equal(GET("s", 1, 2), GW_EINVAL);
    assert_non_null(strstr(why, "'s'"));
    assert_int_equal(GET("e", 0, 10), GW_EINVAL);
    assert_int_equal(GET("n", 1, 10), GW_EINVAL);
    assert_non_null(strstr(why, "must be a string"));
    assert_int_equal(GET("b", 1, 10), GW_EINVAL);
    assert_int_equal(GET("o", 1, 10), GW_EINVAL);
    assert_int_equal(GET("u", 1, 1), GW_OK);
    assert_int_equal(GET("s", 1, 2), GW_EINVAL);
    s = "untouched";
    assert_int_equal(GET("nul", 0, 10), GW_OK);
    assert_int_equal(present, 0);
    assert_string_equal(s, "untouched");
    assert_int_equal(GET("missing", 1, 10), GW_EINVAL);
#undef GET
    gw_arena_reset(a);
}

/* The strict string reader (issue 11): NUL escapes refused in the raw text
 * (cJSON would cut the string: "midi\u0000x" read as "midi"), invalid
 * UTF-8 in any form refused, controls, edge white space and non-ids. */
static void
test_strict_strings(void **state)
{
    struct gw_arena   *a = *state;
    const char        *why = NULL, *s;
    cJSON             *j;
    size_t             i;
    static const char *bad_text[] = {
        "{\"f\":\"midi\\u0000x\"}",     /* NUL escape */
        "{\"f\\u0000\":\"midi\"}",      /* in a key */
        "{\"f\":\"a\xff\"}",            /* not UTF-8 */
        "{\"f\":\"\xc0\xaf\"}",         /* overlong */
        "{\"f\":\"\xe0\x80\xaf\"}",     /* overlong, 3 bytes */
        "{\"f\":\"\xed\xa0\x80\"}",     /* surrogate */
        "{\"f\":\"\xf4\x90\x80\x80\"}", /* above U+10FFFF */
        "{\"f\":\"\xe9\x93\"}",         /* truncated */
    };

    for (i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++) {
        assert_int_equal(
            gw_json_parse(a, bad_text[i], strlen(bad_text[i]), 8, &j, &why),
            GW_EINVAL);
    }
    /* An escaped backslash before "u0000" is text, not a NUL. */
    j = parse_ok(a, "{\"f\":\"a\\\\u0000\"}");
    assert_int_equal(gw_json_get_str(a, j, "f", 1, 10, &s, NULL, &why), GW_OK);
    assert_string_equal(s, "a\\u0000");

    j = parse_ok(
        a,
        "{\"tab\":\"a\\tb\",\"nl\":\"a\\nb\",\"c1\":\"a\\u0085\","
        "\"sp\":\"ref \",\"lead\":\" ref\",\"ok\":\"a b\","
        "\"id\":\"demo-user\",\"idsp\":\"demo user\","
        "\"idu\":\"d\xc3\xa9mo\",\"cjk\":\"\xe8\x8c\x89\xe8\x8e\x89\"}");
    assert_int_equal(gw_json_get_str(a, j, "tab", 1, 10, &s, NULL, &why),
                     GW_EINVAL);
    assert_non_null(strstr(why, "control"));
    assert_int_equal(
        gw_json_get_text(a, j, "tab", 1, 10, GW_STR_LINES, &s, NULL, &why),
        GW_OK);
    assert_int_equal(gw_json_get_str(a, j, "nl", 1, 10, &s, NULL, &why),
                     GW_EINVAL);
    assert_int_equal(gw_json_get_str(a, j, "c1", 1, 10, &s, NULL, &why),
                     GW_EINVAL);
    assert_int_equal(gw_json_get_str(a, j, "sp", 1, 10, &s, NULL, &why),
                     GW_EINVAL);
    assert_non_null(strstr(why, "white space"));
    assert_int_equal(gw_json_get_str(a, j, "lead", 1, 10, &s, NULL, &why),
                     GW_EINVAL);
    assert_int_equal(gw_json_get_str(a, j, "ok", 1, 10, &s, NULL, &why), GW_OK);
    assert_int_equal(gw_json_get_str(a, j, "cjk", 1, 2, &s, NULL, &why), GW_OK);
    assert_int_equal(gw_json_get_str(a, j, "cjk", 1, 1, &s, NULL, &why),
                     GW_EINVAL);
    assert_int_equal(gw_json_get_user_id(a, j, "id", 1, &s, NULL, &why), GW_OK);
    assert_int_equal(gw_json_get_user_id(a, j, "idsp", 1, &s, NULL, &why),
                     GW_EINVAL);
    assert_int_equal(gw_json_get_user_id(a, j, "idu", 1, &s, NULL, &why),
                     GW_EINVAL);
    assert_int_equal(gw_json_get_user_id(a, j, "sp", 1, &s, NULL, &why),
                     GW_EINVAL);
    gw_arena_reset(a);
}

/* Booleans: only true/false; 1, "true" and null-when-required refused. */
static void
test_get_bool(void **state)
{
    struct gw_arena *a = *state;
    const char      *why;
    int              v = -1, present;
    cJSON           *j;

    j = parse_ok(a,
                 "{\"t\":true,\"f\":false,\"one\":1,\"s\":\"true\","
                 "\"n\":null}");
    assert_int_equal(gw_json_get_bool(a, j, "t", 1, &v, &present, &why), GW_OK);
    assert_int_equal(v, 1);
    assert_int_equal(gw_json_get_bool(a, j, "f", 1, &v, &present, &why), GW_OK);
    assert_int_equal(v, 0);
    assert_int_equal(gw_json_get_bool(a, j, "one", 1, &v, &present, &why),
                     GW_EINVAL);
    assert_non_null(strstr(why, "'one'"));
    assert_int_equal(gw_json_get_bool(a, j, "s", 1, &v, &present, &why),
                     GW_EINVAL);
    assert_int_equal(gw_json_get_bool(a, j, "n", 1, &v, &present, &why),
                     GW_EINVAL);
    v = 5;
    assert_int_equal(gw_json_get_bool(a, j, "n", 0, &v, &present, &why), GW_OK);
    assert_int_equal(present, 0);
    assert_int_equal(v, 5);
    gw_arena_reset(a);
}

/* gw_json_print against cJSON_PrintUnformatted: same bytes. */
static void
print_same(struct gw_arena *a, cJSON *j)
{
    char *want = cJSON_PrintUnformatted(j), *got = gw_json_print(a, j);

    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    cJSON_free(want);
}

/*
 * Catches a printer that differs from cJSON's on any value: a number
 * rule (integral doubles up to and past 1e15, fractions that
 * need 17 digits, -0, NaN, huge and tiny magnitudes, INT_MIN/INT_MAX
 * edges), an escape (every control byte, quote, backslash, DEL, UTF-8),
 * a NULL string or key, empty containers, nesting, raw text.
 */
static void
test_print_like_cjson(void **state)
{
    static const double nums[] = {0,
                                  -0.0,
                                  1,
                                  -1,
                                  7,
                                  42,
                                  300,
                                  9700,
                                  2147483647.0,
                                  -2147483648.0,
                                  2147483648.0,
                                  -2147483649.0,
                                  4294967296.0,
                                  1733155200000.0,
                                  999999999999999.0,
                                  1e15,
                                  1e15 + 1,
                                  1e16,
                                  9007199254740992.0,
                                  -9007199254740993.0,
                                  1e300,
                                  -1e300,
                                  1e-300,
                                  5e-324,
                                  0.1,
                                  0.5,
                                  -0.25,
                                  1.0 / 3,
                                  2.0 / 3,
                                  0.1 + 0.2,
                                  123.456,
                                  1e21,
                                  1.7976931348623157e308,
                                  3.14159265358979,
                                  100.5,
                                  -7.75e-5};
    struct gw_arena    *a = *state;
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray(), *n;
    char   s[2], key[8], bytes[64];
    size_t i;

    for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        n = cJSON_CreateNumber(nums[i]);
        print_same(a, n);
        cJSON_AddItemToArray(arr, n);
    }
    n = cJSON_CreateNumber(0);
    n->valuedouble = NAN;
    print_same(a, n);
    n->valuedouble = INFINITY;
    print_same(a, n);
    n->valuedouble = -INFINITY;
    print_same(a, n);
    n->valuedouble = 12.5; /* valueint left at 0 */
    print_same(a, n);
    cJSON_Delete(n);
    for (i = 1; i < 256; i++) {
        s[0] = (char) i;
        s[1] = '\0';
        n = cJSON_CreateString(s);
        print_same(a, n);
        cJSON_Delete(n);
        snprintf(key, sizeof(key), "k%zu", i);
        cJSON_AddStringToObject(o, key, s);
    }
    snprintf(bytes, sizeof(bytes), "%s",
             "a\"b\\c\n\u00e9\u4e2d\U0001f600\x7f/");
    cJSON_AddStringToObject(o, "mixed \"key\"\t", bytes);
    cJSON_AddItemToObject(o, "nums", arr);
    cJSON_AddItemToObject(o, "empty_o", cJSON_CreateObject());
    cJSON_AddItemToObject(o, "empty_a", cJSON_CreateArray());
    cJSON_AddNullToObject(o, "null");
    cJSON_AddTrueToObject(o, "t");
    cJSON_AddFalseToObject(o, "f");
    cJSON_AddRawToObject(o, "raw", "{\"x\":[1,2]}");
    n = cJSON_CreateString("x");
    cJSON_free(n->valuestring);
    n->valuestring = NULL;
    cJSON_AddItemToObject(o, "nullstr", n);
    n = cJSON_CreateArray();
    cJSON_AddItemToArray(n, cJSON_CreateObject());
    cJSON_AddItemToArray(cJSON_GetArrayItem(n, 0), cJSON_CreateNumber(1));
    cJSON_AddItemToObject(o, "nested", n);
    print_same(a, o);
    print_same(a, arr);
    /* a member without a name (cJSON prints "") */
    n = cJSON_CreateObject();
    cJSON_AddItemToArray(n, cJSON_CreateNumber(5));
    print_same(a, n);
    cJSON_Delete(n);
    /* an item of no type fails in both */
    n = cJSON_CreateNull();
    n->type = cJSON_Invalid;
    assert_null(cJSON_PrintUnformatted(n));
    assert_null(gw_json_print(a, n));
    cJSON_Delete(n);
    cJSON_Delete(o);
    gw_arena_reset(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_too_deep),
        cmocka_unit_test_setup_teardown(test_parse_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_dup_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_number_grammar, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_get_i64, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_str, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_like_cjson, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
