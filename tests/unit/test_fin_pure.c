/* test_fin_pure.c — finance pure logic: strict days, CSV cells. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fin.h"
#include "gw_status.h"
#include "gw_util.h"

/* Catches: sscanf-style parsing (2026-02-31 accepted as March 3rd). */
static void
test_day_parse_strict(void **state)
{
    static const char *bad[] = {
        "2026-02-31", "2026-02-29", "2100-02-29", "2026-13-01", "2026-00-10",
        "2026-01-00", "2026-1-01",  "+026-01-01", "2026-01-1 ", "2026/01/01",
        "20260101",   "",           "1999-12-31", "2026-01-32", "2026-04-31",
    };
    int64_t d;
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(fin_day_parse(bad[i], &d), GW_EINVAL);
    }
    assert_int_equal(fin_day_parse(NULL, &d), GW_EINVAL);
    assert_int_equal(fin_day_parse("2024-02-29", &d), GW_OK);
    assert_int_equal(fin_day_parse("2000-02-29", &d), GW_OK);
    assert_int_equal(fin_day_parse("2026-12-31", &d), GW_OK);
}

/* Catches: a day number that does not round-trip (off by one at month
 * or year ends). */
static void
test_day_roundtrip(void **state)
{
    char    out[11];
    int64_t d, d2;

    (void) state;
    assert_int_equal(fin_day_parse("2000-01-01", &d), GW_OK);
    assert_int_equal(d, 10957);
    for (; d < 10957 + 366 * 40; d += 13) {
        fin_day_format(d, out);
        assert_int_equal(fin_day_parse(out, &d2), GW_OK);
        assert_int_equal(d, d2);
    }
    fin_day_format(20424, out);
    assert_string_equal(out, "2025-12-02");
}

static void
test_month_and_range(void **state)
{
    const char *why = NULL;
    int64_t     f, t;
    int         y, m;

    (void) state;
    assert_int_equal(fin_month_parse("2026-02", &y, &m), GW_OK);
    assert_int_equal(y * 100 + m, 202602);
    assert_int_equal(fin_month_parse("2026-13", &y, &m), GW_EINVAL);
    assert_int_equal(fin_month_parse("2026-2", &y, &m), GW_EINVAL);
    assert_int_equal(fin_range_parse("2026-01-02", "2026-01-01", &f, &t, &why),
                     GW_EINVAL);
    assert_int_equal(fin_range_parse("2026-01-01", "2027-01-02", &f, &t, &why),
                     GW_EINVAL);
    assert_int_equal(fin_range_parse("2026-01-01", "2026-12-31", &f, &t, &why),
                     GW_OK);
    assert_int_equal(t - f, 364);
}

static const char *
cell(struct gw_buf *b, const char *v, int text)
{
    b->len = 0;
    assert_int_equal(fin_csv_cell(b, v, text, 1), GW_OK);
    return b->data;
}

/* Catches: formula cells left live, or numbers turned into text. */
static void
test_csv_cells(void **state)
{
    struct gw_buf b = {0};
    char          big[FIN_CELL_MAX + 2];

    (void) state;
    assert_string_equal(cell(&b, "=1+2", 1), "\"'=1+2\"\r\n");
    assert_string_equal(cell(&b, "+1", 1), "\"'+1\"\r\n");
    assert_string_equal(cell(&b, "-1", 1), "\"'-1\"\r\n");
    assert_string_equal(cell(&b, "@x", 1), "\"'@x\"\r\n");
    assert_string_equal(cell(&b, "\tx", 1), "\"'\tx\"\r\n");
    assert_string_equal(cell(&b, "\rx", 1), "\"'\rx\"\r\n");
    assert_string_equal(cell(&b, "a\"b,c", 1), "\"a\"\"b,c\"\r\n");
    assert_string_equal(cell(&b, "x=1", 1), "\"x=1\"\r\n");
    assert_string_equal(cell(&b, "-500", 0), "-500\r\n");
    assert_string_equal(cell(&b, NULL, 0), "\r\n");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(fin_csv_cell(&b, big, 1, 0), GW_EINVAL);
    gw_buf_free(&b);
}

/* Catches: overlongs, surrogates, NUL or Latin-1 bytes taken as text. */
static void
test_utf8(void **state)
{
    (void) state;
    assert_true(fin_utf8_valid("abc", 3));
    assert_true(fin_utf8_valid("\xe4\xb8\xad\xf0\x9f\x8e\xb5", 7));
    assert_false(fin_utf8_valid("caf\xe9", 4));
    assert_false(fin_utf8_valid("\xc0\xaf", 2));
    assert_false(fin_utf8_valid("\xed\xa0\x80", 3));
    assert_false(fin_utf8_valid("\xf4\x90\x80\x80", 4));
    assert_false(fin_utf8_valid("a\0b", 3));
    assert_false(fin_utf8_valid("\xe4\xb8", 2));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day_parse_strict),
        cmocka_unit_test(test_day_roundtrip),
        cmocka_unit_test(test_month_and_range),
        cmocka_unit_test(test_csv_cells),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
