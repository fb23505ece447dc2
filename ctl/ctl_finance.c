/*
 * ctl_finance.c — vasctl's finance commands over finance/: the CDR export
 * (stdout, or per day a CSV and its manifest), reconciliation with the
 * carrier's billed-records file, provider statements, operator look-ups,
 * purchase refunds and admin keys.
 *
 * Exit status: 0 done (and, for reconcile, no discrepancy), 1 failed or
 * discrepancies found, 2 usage (bad arguments, impossible dates).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "fin.h"
#include "gw_json.h"
#include "gw_status.h"
#include "gw_util.h"

static int ctl_cdr_export(struct ctl *c, int argc, char **argv);

static const struct ctl_option ctl_opts_cdr_export[] = {
    {"--date", "YYYY-MM-DD", "one business day", 0},
    {"--from", "YYYY-MM-DD", "first business day (with --to)", 0},
    {"--to", "YYYY-MM-DD", "last business day, inclusive (with --from)", 0},
    {"--out", "DIR", "write cdrs-DAY.csv and cdrs-DAY.manifest.json per day",
     0},
    {0}};

const struct ctl_command ctl_finance_commands[] = {
    {"cdr export", ctl_cdr_export, "", 0, 0, ctl_opts_cdr_export,
     "CDRs (format v2) as CSV; exporting an ended day closes it",
     "Without --out the CSV of the range goes to stdout. With --out DIR each"
     " day gets\nits CSV and a manifest (status, rows, amount total, SHA-256)."
     " A day that has\nended is closed by its first export (final, never"
     " changes again); today is\nprovisional and stays open. See"
     " docs/cdr-format.md.",
     0},
    {0}};

static int
ctl_fin_fail(int rc, const char *what, const char *why)
{
    fprintf(stderr, "vasctl: %s: %s\n", what, why ? why : gw_status_title(rc));
    return rc == GW_EINVAL ? 2 : 1;
}

static int
ctl_fin_fwrite(void *ctx, const void *p, size_t n)
{
    return fwrite(p, 1, n, (FILE *) ctx) == n ? 0 : -1;
}

/* --date D, or --from D --to D. */
static int
ctl_fin_days(int argc, char **argv, int64_t *from, int64_t *to)
{
    const char *date = ctl_opt(argc, argv, "--date");
    const char *why = NULL;

    if (date != NULL) {
        if (fin_day_parse(date, from) != GW_OK) {
            fprintf(stderr,
                    "vasctl: --date '%s' is not a calendar day"
                    " (YYYY-MM-DD)\n",
                    date);
            return -1;
        }
        *to = *from;
        return 0;
    }
    if (ctl_opt(argc, argv, "--from") == NULL
        || ctl_opt(argc, argv, "--to") == NULL) {
        fprintf(stderr, "vasctl: %s YYYY-MM-DD is required\n",
                ctl_opt(argc, argv, "--from") != NULL ? "--to"
                    : ctl_opt(argc, argv, "--to") != NULL
                    ? "--from"
                    : "--date (or --from/--to)");
        return -1;
    }
    if (fin_range_parse(ctl_opt(argc, argv, "--from"),
                        ctl_opt(argc, argv, "--to"), from, to, &why)
        != GW_OK) {
        fprintf(stderr, "vasctl: %s\n", why);
        return -1;
    }
    return 0;
}

/* One day into DIR/cdrs-DAY.csv and DIR/cdrs-DAY.manifest.json. */
static int
ctl_cdr_export_day(struct ctl *c, const char *dir, int64_t day)
{
    struct fin_export_stats st;
    char  d[11], csv[1024], tmp[1100], man[1024], mtmp[1100], name[64];
    FILE *f;
    char *json;
    int   rc;

    fin_day_format(day, d);
    snprintf(name, sizeof(name), "cdrs-%s.csv", d);
    snprintf(csv, sizeof(csv), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", csv);
    snprintf(man, sizeof(man), "%s/cdrs-%s.manifest.json", dir, d);
    snprintf(mtmp, sizeof(mtmp), "%s.tmp", man);
    f = fopen(tmp, "wb");
    if (f == NULL) {
        fprintf(stderr, "vasctl: cannot write %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    rc = fin_cdr_export(&c->t.db, &c->t.arena, c->cfg, day, day, ctl_fin_fwrite,
                        f, &st);
    if (fclose(f) != 0 && rc == GW_OK) {
        rc = GW_ERROR;
    }
    json = rc == GW_OK
        ? gw_json_print(&c->t.arena,
                        fin_cdr_manifest(&c->t.arena, c->cfg, day, name, &st))
        : NULL;
    f = json != NULL ? fopen(mtmp, "wb") : NULL;
    if (f == NULL || fprintf(f, "%s\n", json) < 0 || fclose(f) != 0
        || rename(tmp, csv) != 0 || rename(mtmp, man) != 0) {
        unlink(tmp);
        unlink(mtmp);
        return ctl_fin_fail(rc == GW_OK ? GW_ERROR : rc, "cdr export", NULL);
    }
    fprintf(stderr, "%s: %s, %lld rows, amount %lld, sha256 %s\n", csv,
            st.final ? "final" : "provisional", (long long) st.rows,
            (long long) st.amount_total, st.sha256);
    gw_arena_reset(&c->t.arena);
    return 0;
}

static int
ctl_cdr_export(struct ctl *c, int argc, char **argv)
{
    struct fin_export_stats st;
    const char             *dir = ctl_opt(argc, argv, "--out");
    struct stat             sb;
    int64_t                 from, to, d;
    int                     rc;

    if (ctl_fin_days(argc, argv, &from, &to) != 0) {
        return 2;
    }
    if (dir != NULL && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        fprintf(stderr, "vasctl: --out %s is not a directory\n", dir);
        return 2;
    }
    rc = fin_days_close(&c->t.db, &c->t.arena, c->cfg, from, to, "vasctl");
    if (rc != GW_OK) {
        return ctl_fin_fail(rc, "cdr export", "cannot close the ended days");
    }
    if (dir == NULL) {
        rc = fin_cdr_export(&c->t.db, &c->t.arena, c->cfg, from, to,
                            ctl_fin_fwrite, stdout, &st);
        if (rc == GW_OK && fflush(stdout) != 0) {
            rc = GW_ERROR;
        }
        return rc == GW_OK ? 0 : ctl_fin_fail(rc, "cdr export", NULL);
    }
    for (d = from; d <= to; d++) {
        if ((rc = ctl_cdr_export_day(c, dir, d)) != 0) {
            return rc;
        }
    }
    return 0;
}
