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
static int ctl_reconcile(struct ctl *c, int argc, char **argv);
static int ctl_reconcile_list(struct ctl *c, int argc, char **argv);
static int ctl_reconcile_show(struct ctl *c, int argc, char **argv);

static const struct ctl_option ctl_opts_cdr_export[] = {
    {"--date", "YYYY-MM-DD", "one business day", 0},
    {"--from", "YYYY-MM-DD", "first business day (with --to)", 0},
    {"--to", "YYYY-MM-DD", "last business day, inclusive (with --from)", 0},
    {"--out", "DIR", "write cdrs-DAY.csv and cdrs-DAY.manifest.json per day",
     0},
    {0}};

static const struct ctl_option ctl_opts_reconcile[] = {
    {"--carrier-file", "FILE", "the carrier's billed records (CSV)",
     CTL_OPT_REQUIRED},
    {"--date", "YYYY-MM-DD", "the business day they bill (must have ended)",
     CTL_OPT_REQUIRED},
    {"--report", "FILE", "detail CSV (default reconcile-DAY-RUN.csv)", 0},
    {0}};

static const struct ctl_option ctl_opts_reconcile_list[] = {
    {"--limit", "N", "at most N runs (default 20, max 100)", 0}, {0}};

static const struct ctl_option ctl_opts_reconcile_show[] = {
    {"--report", "FILE", "also write the run's detail CSV", 0}, {0}};

const struct ctl_command ctl_finance_commands[] = {
    {"cdr export", ctl_cdr_export, "", 0, 0, ctl_opts_cdr_export,
     "CDRs (format v2) as CSV; exporting an ended day closes it",
     "Without --out the CSV of the range goes to stdout. With --out DIR each"
     " day gets\nits CSV and a manifest (status, rows, amount total, SHA-256)."
     " A day that has\nended is closed by its first export (final, never"
     " changes again); today is\nprovisional and stays open. See"
     " docs/cdr-format.md.",
     0},
    {"reconcile", ctl_reconcile, "", 0, 0, ctl_opts_reconcile,
     "reconcile the carrier's billed records with a day's CDRs",
     "Classifies every record: matched, amount_mismatch, charged_not_billed,"
     "\nbilled_unknown, billed_twice, charged_not_delivered, malformed (with"
     " its line\nnumber). Prints counts and amounts, writes the detail CSV,"
     " stores the run\n(the same file for the same day is the same run). Exit"
     " 1 when any record\nis not matched. See docs/reconciliation.md.",
     0},
    {"reconcile list", ctl_reconcile_list, "", 0, 0, ctl_opts_reconcile_list,
     "stored reconciliation runs, newest first", NULL, 0},
    {"reconcile show", ctl_reconcile_show, "RUN_ID", 1, 1,
     ctl_opts_reconcile_show, "one run's counts and amounts per class (JSON)",
     NULL, 0},
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

/* ---- reconcile ---- */

static void
ctl_recon_progress(void *ctx, int64_t lines, int done)
{
    (void) ctx;
    fprintf(stderr, "\rreconcile: %lld records read%s", (long long) lines,
            done ? ", classified\n" : "");
}

static int
ctl_recon_report_file(struct ctl *c, int64_t run_id, const char *path)
{
    FILE *f = fopen(path, "wb");
    int   rc;

    if (f == NULL) {
        fprintf(stderr, "vasctl: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    rc = fin_recon_report(&c->t.db, run_id, ctl_fin_fwrite, f);
    if (fclose(f) != 0 && rc == GW_OK) {
        rc = GW_ERROR;
    }
    return rc == GW_OK ? 0 : ctl_fin_fail(rc, "reconcile report", NULL);
}

static int64_t
ctl_recon_print(const struct fin_recon_run *run, const char *file)
{
    int64_t bad = 0;
    int     k;

    printf("reconciliation run %lld of %s: %s (sha256 %s)%s\n",
           (long long) run->id, run->day, file, run->file_sha256,
           run->reused ? "\n  the same file was reconciled before: its stored"
                         " run is shown"
                       : "");
    printf("  %-22s %10s %16s\n", "class", "count", "amount");
    for (k = 0; k < FIN_RC_COUNT; k++) {
        printf("  %-22s %10lld %16lld\n", fin_recon_class_names[k],
               (long long) run->count[k], (long long) run->amount[k]);
        if (k != FIN_RC_MATCHED) {
            bad += run->count[k];
        }
    }
    printf("  %lld carrier records read, %lld discrepanc%s\n",
           (long long) run->lines, (long long) bad, bad == 1 ? "y" : "ies");
    return bad;
}

static int
ctl_reconcile(struct ctl *c, int argc, char **argv)
{
    struct fin_recon_run run;
    const char          *file = ctl_opt(argc, argv, "--carrier-file");
    const char          *report = ctl_opt(argc, argv, "--report");
    const char          *why = NULL;
    char                 def[64];
    int64_t              day, bad;
    int                  rc;

    if (fin_day_parse(ctl_opt(argc, argv, "--date"), &day) != GW_OK) {
        fprintf(stderr, "vasctl: --date is not a calendar day (YYYY-MM-DD)\n");
        return 2;
    }
    if (day >= fin_day_today(c->cfg)) {
        fprintf(stderr,
                "vasctl: %s has not ended yet: reconcile ended"
                " (closed) days\n",
                ctl_opt(argc, argv, "--date"));
        return 2;
    }
    rc = fin_days_close(&c->t.db, &c->t.arena, c->cfg, day, day, "vasctl");
    if (rc == GW_OK) {
        rc = fin_recon_run(&c->t.db, &c->t.arena, c->cfg, file, day, "vasctl",
                           isatty(STDERR_FILENO) ? ctl_recon_progress : NULL,
                           NULL, &run, &why);
    }
    if (rc == GW_ECONFLICT) {
        why = "these inputs are being reconciled right now";
    }
    if (rc != GW_OK) {
        fprintf(stderr, "vasctl: reconcile: %s\n",
                why ? why : gw_status_title(rc));
        return rc == GW_EINVAL ? 2 : 1;
    }
    bad = ctl_recon_print(&run, file);
    if (report == NULL) {
        snprintf(def, sizeof(def), "reconcile-%s-%lld.csv", run.day,
                 (long long) run.id);
        report = def;
    }
    if (ctl_recon_report_file(c, run.id, report) != 0) {
        return 1;
    }
    printf("  report: %s\n", report);
    return bad > 0 ? 1 : 0;
}

static int
ctl_reconcile_list(struct ctl *c, int argc, char **argv)
{
    const char *s = ctl_opt(argc, argv, "--limit");
    cJSON      *items = NULL, *it;
    int64_t     limit = FIN_PAGE_DEFAULT, next;
    int         rc;

    if (s != NULL
        && (gw_parse_i64(s, strlen(s), &limit) != 0 || limit < 1
            || limit > FIN_PAGE_MAX)) {
        fprintf(stderr, "vasctl: --limit wants 1..%d\n", FIN_PAGE_MAX);
        return 2;
    }
    rc = fin_recon_list(&c->t.db, &c->t.arena, 0, (int) limit, &items, &next);
    if (rc != GW_OK) {
        return ctl_fin_fail(rc, "reconcile list", NULL);
    }
    printf("%-6s %-10s %10s %13s  %-20s %s\n", "run", "day", "records",
           "discrepancies", "created_at", "file");
    cJSON_ArrayForEach(it, items)
    {
        printf("%-6.0f %-10s %10.0f %13.0f  %-20s %s\n",
               cJSON_GetObjectItem(it, "id")->valuedouble,
               cJSON_GetObjectItem(it, "day")->valuestring,
               cJSON_GetObjectItem(it, "lines")->valuedouble,
               cJSON_GetObjectItem(it, "discrepancies")->valuedouble,
               cJSON_GetObjectItem(it, "created_at")->valuestring,
               cJSON_GetObjectItem(it, "file_name")->valuestring);
    }
    return 0;
}

static int
ctl_reconcile_show(struct ctl *c, int argc, char **argv)
{
    const char *report = ctl_opt(argc, argv, "--report");
    cJSON      *run = NULL;
    char       *s;
    int64_t     id;
    int         rc;

    if (gw_parse_i64(argv[0], strlen(argv[0]), &id) != 0 || id < 1) {
        fprintf(stderr, "vasctl: RUN_ID is a positive number\n");
        return 2;
    }
    rc = fin_recon_get(&c->t.db, &c->t.arena, id, &run);
    if (rc != GW_OK) {
        return ctl_fin_fail(rc, "reconcile show",
                            rc == GW_ENOTFOUND ? "no such run" : NULL);
    }
    s = cJSON_Print(run);
    if (s != NULL) {
        printf("%s\n", s);
        cJSON_free(s);
    }
    return report != NULL ? ctl_recon_report_file(c, id, report) : 0;
}
