/*
 * fuzz_cdr_date.c — libFuzzer harness for the CDR business-day parsers
 * (finance/fin_day.c: fin_day_parse, fin_range_parse, fin_month_parse;
 * `vasctl cdr export --from --to`, GET /v1/admin/cdrs?from=&to=, monthly
 * statements).
 *
 * Input: "FROM\nTO". Invariants: no crash/UB; a day accepted is exactly
 * YYYY-MM-DD in digits (no sign, space or short field) and a real
 * calendar day (not 2026-02-30), and formats back to the same text; a
 * range accepted has from <= to; a month accepted is YYYY-MM, 01..12.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fin.h"
#include "gw_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
canonical(const char *s)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int              i, y, m, d, leap;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }
    for (i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return 0;
        }
    }
    y = ((s[0] - '0') * 10 + (s[1] - '0')) * 100 + (s[2] - '0') * 10
        + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] + (m == 2 && leap);
}

static void
check_day(const char *s)
{
    int64_t day;
    char    back[11];
    int     y, m;

    if (fin_day_parse(s, &day) == GW_OK) {
        fin_day_format(day, back);
        if (!canonical(s) || strcmp(back, s) != 0) {
            abort();
        }
    }
    if (fin_month_parse(s, &y, &m) == GW_OK
        && (strlen(s) != 7 || m < 1 || m > 12 || y < 2000)) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char       *buf, *from, *to, *nl;
    const char *why = NULL;
    int64_t     a, b;

    buf = malloc(size + 1);
    if (buf == NULL) {
        return 0;
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    from = buf;
    nl = strchr(buf, '\n');
    to = nl ? (*nl = '\0', nl + 1) : buf;
    check_day(from);
    check_day(to);
    if (fin_range_parse(from, to, &a, &b, &why) == GW_OK) {
        if (a > b || !canonical(from) || !canonical(to)) {
            abort();
        }
    } else if (why == NULL) {
        abort(); /* a refusal says why */
    }
    free(buf);
    return 0;
}
