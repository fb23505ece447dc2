/*
 * fin_day.c — business days as numbers: strict calendar parsing (no
 * sscanf: "2026-2-3", "+2026-02-03" and "2026-02-31" are all refused) and
 * the civil-date arithmetic of Howard Hinnant's days_from_civil, so no
 * timegm() normalisation can turn February 31st into March 3rd.
 */
#include <string.h>

#include "fin.h"
#include "gw_status.h"
#include "gw_util.h"

static int
fin_digits(const char *s, size_t n, int *out)
{
    size_t i;
    int    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int
fin_month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    int              leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

static int64_t
fin_days_from_civil(int y, int m, int d)
{
    int64_t  yy = m <= 2 ? y - 1 : y;
    int64_t  era = (yy >= 0 ? yy : yy - 399) / 400;
    unsigned yoe = (unsigned) (yy - era * 400);
    unsigned doy = (unsigned) ((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t) doe - 719468;
}

int
fin_day_parse(const char *s, int64_t *day)
{
    int y, m, d;

    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-'
        || fin_digits(s, 4, &y) != 0 || fin_digits(s + 5, 2, &m) != 0
        || fin_digits(s + 8, 2, &d) != 0) {
        return GW_EINVAL;
    }
    if (y < 2000 || m < 1 || m > 12 || d < 1 || d > fin_month_days(y, m)) {
        return GW_EINVAL;
    }
    *day = fin_days_from_civil(y, m, d);
    return GW_OK;
}

int
fin_month_parse(const char *s, int *year, int *month)
{
    if (s == NULL || strlen(s) != 7 || s[4] != '-'
        || fin_digits(s, 4, year) != 0 || fin_digits(s + 5, 2, month) != 0
        || *year < 2000 || *month < 1 || *month > 12) {
        return GW_EINVAL;
    }
    return GW_OK;
}

void
fin_day_format(int64_t day, char out[11])
{
    /* civil_from_days */
    int64_t  z = day + 719468;
    int64_t  era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned) (z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int64_t  y = (int64_t) yoe + era * 400 + (m <= 2);
    int      i;

    for (i = 3; i >= 0; i--) {
        out[i] = (char) ('0' + y % 10);
        y /= 10;
    }
    out[4] = '-';
    out[5] = (char) ('0' + m / 10);
    out[6] = (char) ('0' + m % 10);
    out[7] = '-';
    out[8] = (char) ('0' + d / 10);
    out[9] = (char) ('0' + d % 10);
    out[10] = '\0';
}

int64_t
fin_day_today(const struct gw_config *cfg)
{
    int64_t t = gw_now_s() + cfg->billing.day_offset_min * 60;

    return (t >= 0 ? t : t - 86399) / 86400;
}

int
fin_range_parse(const char *from, const char *to, int64_t *d_from,
                int64_t *d_to, const char **why)
{
    if (from == NULL || to == NULL) {
        *why = "from and to are required (YYYY-MM-DD)";
        return GW_EINVAL;
    }
    if (fin_day_parse(from, d_from) != GW_OK) {
        *why = "from is not a calendar day (YYYY-MM-DD)";
        return GW_EINVAL;
    }
    if (fin_day_parse(to, d_to) != GW_OK) {
        *why = "to is not a calendar day (YYYY-MM-DD)";
        return GW_EINVAL;
    }
    if (*d_from > *d_to) {
        *why = "from is after to";
        return GW_EINVAL;
    }
    if (*d_to - *d_from + 1 > FIN_EXPORT_DAYS_MAX) {
        *why = "at most 366 days at a time";
        return GW_EINVAL;
    }
    return GW_OK;
}
