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
#include "gw_limits.h"
#include "fin.h"
#include "gw_idem.h"
#include "gw_json.h"
#include "gw_status.h"
#include "gw_util.h"
#include "store.h"

static int ctl_cdr_export(struct ctl *c, int argc, char **argv);
static int ctl_reconcile(struct ctl *c, int argc, char **argv);
static int ctl_reconcile_list(struct ctl *c, int argc, char **argv);
static int ctl_reconcile_show(struct ctl *c, int argc, char **argv);
static int ctl_statement(struct ctl *c, int argc, char **argv);
static int ctl_purchase_refund(struct ctl *c, int argc, char **argv);
static int ctl_subscriber_list(struct ctl *c, int argc, char **argv);
static int ctl_subscriber_purchases(struct ctl *c, int argc, char **argv);
static int ctl_admin_key_list(struct ctl *c, int argc, char **argv);
static int ctl_admin_key_revoke(struct ctl *c, int argc, char **argv);

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

static const struct ctl_option ctl_opts_statement[] = {
    {"--provider", "ID", "the content provider", CTL_OPT_REQUIRED},
    {"--month", "YYYY-MM", "the business month", CTL_OPT_REQUIRED},
    {"--out", "FILE", "write the CSV there instead of stdout", 0},
    {0}};

static const struct ctl_option ctl_opts_purchase_refund[] = {
    {"--amount", "FEN", "refund this much (default: all that is left)", 0},
    {"--reason", "TEXT", "why (kept with the refund)",
     CTL_OPT_REQUIRED | CTL_OPT_TEXT},
    {"--key", "KEY", "idempotency key (default: ID, amount and reason)",
     CTL_OPT_TEXT},
    {0}};

static const struct ctl_option ctl_opts_page[] = {
    {"--limit", "N", "at most N (default 20, max 100)", 0},
    {"--cursor", "C", "the next_cursor a previous page printed", 0},
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
    {"statement", ctl_statement, "", 0, 0, ctl_opts_statement,
     "a content provider's monthly statement (CSV, from postings)",
     "One row per item and a TOTAL row: charges, gross, refunds, net, the"
     " provider's\nand the carrier's shares. A movement counts in the month it"
     " was booked (a\nrefund of last month's purchase lowers this month).",
     0},
    {"purchase refund", ctl_purchase_refund, "PURCHASE_ID", 1, 1,
     ctl_opts_purchase_refund,
     "refund all or part of a purchase (as POST "
     "/v1/admin/purchases/ID/refunds)",
     "Idempotent: the same --key (by default the purchase, amount and reason)"
     " replays\nthe first result instead of refunding again.",
     0},
    {"subscriber list", ctl_subscriber_list, "", 0, 0, ctl_opts_page,
     "every subscriber, oldest first (JSON lines)", NULL, 0},
    {"subscriber search", ctl_subscriber_list, "MSISDN_PREFIX|IM_USER", 1, 1,
     ctl_opts_page, "subscribers by MSISDN prefix or IM user id (JSON lines)",
     NULL, 0},
    {"subscriber purchases", ctl_subscriber_purchases, "MSISDN", 1, 1,
     ctl_opts_page, "a subscriber's purchases with refunds, newest first", NULL,
     0},
    {"admin-key list", ctl_admin_key_list, "", 0, 0, NULL,
     "admin API keys (id, name, created, revoked)", NULL, 0},
    {"admin-key revoke", ctl_admin_key_revoke, "KEY_ID", 1, 1, NULL,
     "revoke an admin API key (effective within 5 s)", NULL, 0},
    {0}};

static int
ctl_fin_fail(int rc, const char *what, const char *why)
{
    fprintf(stderr, "vasctl: %s: %s\n", what, why ? why : gw_status_title(rc));
    return rc == GW_EINVAL ? 2 : 1;
}

/*
 * Batch commands run statements over a whole day (the close's summary,
 * reconciliation's joins): they get GW_BATCH_READ_TIMEOUT_MS to read instead
 * of the gateway's request-sized timeout. Before the first connection.
 */
static void
ctl_fin_batch(struct ctl *c)
{
    if (c->cfg->mysql.read_timeout_ms < GW_BATCH_READ_TIMEOUT_MS) {
        c->cfg->mysql.read_timeout_ms = GW_BATCH_READ_TIMEOUT_MS;
        c->cfg->mysql.write_timeout_ms = GW_BATCH_READ_TIMEOUT_MS;
        gw_db_close(&c->t.db);
    }
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
    ctl_fin_batch(c);
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
    ctl_fin_batch(c);
    rc = fin_recon_run(&c->t.db, &c->t.arena, c->cfg, file, day, "vasctl",
                       isatty(STDERR_FILENO) ? ctl_recon_progress : NULL, NULL,
                       &run, &why);
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

/* ---- statements ---- */

static int
ctl_statement(struct ctl *c, int argc, char **argv)
{
    struct fin_statement_totals tot;
    const char                 *p = ctl_opt(argc, argv, "--provider");
    const char                 *out = ctl_opt(argc, argv, "--out");
    FILE                       *f = stdout;
    int64_t                     provider;
    int                         y, m, rc;

    if (gw_parse_i64(p, strlen(p), &provider) != 0 || provider < 1) {
        fprintf(stderr, "vasctl: --provider wants a provider id\n");
        return 2;
    }
    if (fin_month_parse(ctl_opt(argc, argv, "--month"), &y, &m) != GW_OK) {
        fprintf(stderr, "vasctl: --month is not a month (YYYY-MM)\n");
        return 2;
    }
    ctl_fin_batch(c);
    if (out != NULL && (f = fopen(out, "wb")) == NULL) {
        fprintf(stderr, "vasctl: cannot write %s: %s\n", out, strerror(errno));
        return 1;
    }
    rc = fin_statement_run(&c->t.db, &c->t.arena, c->cfg, provider, y, m,
                           ctl_fin_fwrite, f, &tot);
    if (f != stdout && fclose(f) != 0 && rc == GW_OK) {
        rc = GW_ERROR;
    }
    return rc == GW_OK ? 0 : ctl_fin_fail(rc, "statement", NULL);
}

/* ---- purchase refund: the admin API's refund, run from here ---- */

static const char *
ctl_fin_actor(void)
{
    static char actor[80];
    const char *user = getenv("SUDO_USER");

    if (user == NULL) {
        user = getenv("USER");
    }
    snprintf(actor, sizeof(actor), "vasctl:%s", user ? user : "?");
    return actor;
}

/* Commits (or rolls back) the refund and releases the key's lock. */
static int
ctl_purchase_refund_end(struct ctl *c, struct store_ctx *sc,
                        struct store_refund *f, int rc, const char *body)
{
    if (rc == GW_OK) {
        rc = gw_db_commit(&c->t.db);
    } else {
        gw_db_rollback(&c->t.db);
    }
    gw_idem_unlock(&c->t.db);
    if (rc != GW_OK) {
        fprintf(stderr, "vasctl: purchase refund: %s\n",
                sc->detail[0] ? sc->detail
                    : rc == GW_EIDEM_BUSY
                    ? "the same refund is running right now"
                    : gw_status_title(rc));
        return 1;
    }
    if (f->revoked) {
        store_refund_committed(sc);
    }
    printf("%s\n", body);
    return 0;
}

/*
 * The store's refund (store_refund_apply: ledger, refund row, purchase,
 * entitlement, notifications, webhook) in one transaction with its
 * idempotency record ("vasctl:purchase-refund", the key's lock held by
 * gw_idem): a re-run with the same key prints the first result.
 */
static int
ctl_purchase_refund(struct ctl *c, int argc, char **argv)
{
    struct store_ctx    sc;
    struct store_refund f;
    struct gw_idem_rec  rec;
    const char         *amount = ctl_opt(argc, argv, "--amount");
    const char         *key = ctl_opt(argc, argv, "--key"), *body = NULL;
    const char         *scope = "vasctl:purchase-refund", *req;
    char                hash[65];
    int                 rc;

    memset(&f, 0, sizeof(f));
    f.reason = ctl_opt(argc, argv, "--reason");
    if (gw_parse_i64(argv[0], strlen(argv[0]), &f.purchase_id) != 0
        || f.purchase_id < 1
        || (amount != NULL
            && (gw_parse_i64(amount, strlen(amount), &f.amount) != 0
                || f.amount < 1 || f.amount > BILL_AMOUNT_MAX))
        || strlen(f.reason) > BILL_REASON_MAX) {
        fprintf(stderr,
                "vasctl: PURCHASE_ID and --amount are positive"
                " integers (fen); --reason at most 255 bytes\n");
        return 2;
    }
    req =
        gw_arena_printf(&c->t.arena, "%lld:%lld:%s", (long long) f.purchase_id,
                        (long long) f.amount, f.reason);
    gw_sha256_hex(req, strlen(req), hash);
    if (key == NULL) {
        key = gw_arena_printf(&c->t.arena, "purchase:%.40s", hash);
    }
    store_ctx_init(&sc, &c->t.db, &c->t.arena, c->cfg, ctl_fin_actor(), NULL);
    rc = gw_idem_lock(&c->t.db, &c->t.arena, scope, key, &rec);
    if (rc == GW_OK && rec.req_hash != NULL) {
        gw_idem_unlock(&c->t.db);
        if (strcmp(rec.req_hash, hash) != 0) {
            fprintf(stderr,
                    "vasctl: purchase refund: --key %s was used for"
                    " another refund\n",
                    key);
            return 1;
        }
        printf("%s (replayed: already done)\n", rec.body);
        return 0;
    }
    if (rc == GW_OK) {
        rc = gw_db_begin(&c->t.db);
    }
    if (rc == GW_OK) {
        rc = store_refund_apply(&sc, &f);
    }
    if (rc == GW_OK) {
        body = store_refund_json(&sc, &f);
        rc = body != NULL
            ? gw_idem_record(&c->t.db, scope, key, hash, 201, body)
            : GW_ERROR;
    }
    return ctl_purchase_refund_end(c, &sc, &f, rc, body);
}

/* ---- look-ups ---- */

static int
ctl_fin_page_args(int argc, char **argv, const char *tag, int *limit,
                  int64_t *cursor)
{
    const char   *l = ctl_opt(argc, argv, "--limit");
    const char   *cur = ctl_opt(argc, argv, "--cursor");
    unsigned char raw[64];
    char          want[16];
    int64_t       v = FIN_PAGE_DEFAULT;
    long          n;
    size_t        tl;

    *cursor = 0;
    if (l != NULL
        && (gw_parse_i64(l, strlen(l), &v) != 0 || v < 1 || v > FIN_PAGE_MAX)) {
        fprintf(stderr, "vasctl: --limit wants 1..%d\n", FIN_PAGE_MAX);
        return -1;
    }
    *limit = (int) v;
    if (cur == NULL) {
        return 0;
    }
    tl = (size_t) snprintf(want, sizeof(want), "fin:%s:", tag);
    n = strlen(cur) <= 80
        ? gw_b64url_decode(cur, strlen(cur), raw, sizeof(raw) - 1)
        : -1;
    if (n <= (long) tl || memcmp(raw, want, tl) != 0
        || gw_parse_i64((char *) raw + tl, (size_t) n - tl, cursor) != 0) {
        fprintf(stderr, "vasctl: --cursor is not one this list printed\n");
        return -1;
    }
    return 0;
}

static int
ctl_fin_print_page(cJSON *items, const char *tag, int64_t next)
{
    cJSON *it;
    char  *s, raw[48], enc[GW_B64URL_LEN(48) + 1];
    int    n;

    cJSON_ArrayForEach(it, items)
    {
        if ((s = cJSON_PrintUnformatted(it)) != NULL) {
            printf("%s\n", s);
            cJSON_free(s);
        }
    }
    if (next > 0) {
        n = snprintf(raw, sizeof(raw), "fin:%s:%lld", tag, (long long) next);
        gw_b64url_encode((const unsigned char *) raw, (size_t) n, enc);
        fprintf(stderr, "more: --cursor %s\n", enc);
    }
    return 0;
}

static int
ctl_subscriber_list(struct ctl *c, int argc, char **argv)
{
    const char *q = c->nargs > 0 ? argv[0] : NULL;
    cJSON      *items = NULL;
    int64_t     after, next;
    int         limit, rc;

    if (ctl_fin_page_args(argc, argv, "sub", &limit, &after) != 0) {
        return 2;
    }
    if (q != NULL
        && (strlen(q) > FIN_QUERY_MAX || !fin_utf8_valid(q, strlen(q)))) {
        fprintf(stderr,
                "vasctl: the search is UTF-8 text of at most %d"
                " bytes\n",
                FIN_QUERY_MAX);
        return 2;
    }
    rc = fin_subscribers_search(&c->t.db, &c->t.arena, q, after, limit, &items,
                                &next);
    return rc == GW_OK ? ctl_fin_print_page(items, "sub", next)
                       : ctl_fin_fail(rc, "subscriber list", NULL);
}

static int
ctl_subscriber_purchases(struct ctl *c, int argc, char **argv)
{
    cJSON  *items = NULL;
    int64_t before, next;
    int     limit, rc;

    if (ctl_fin_page_args(argc, argv, "pur", &limit, &before) != 0) {
        return 2;
    }
    rc = fin_subscriber_purchases(&c->t.db, &c->t.arena, argv[0], before, limit,
                                  &items, &next);
    if (rc == GW_ENOTFOUND) {
        return ctl_fin_fail(rc, "subscriber purchases", "no such subscriber");
    }
    return rc == GW_OK ? ctl_fin_print_page(items, "pur", next)
                       : ctl_fin_fail(rc, "subscriber purchases", NULL);
}

static int
ctl_admin_key_list(struct ctl *c, int argc, char **argv)
{
    cJSON *items = NULL, *it;
    int    rc;

    (void) argc;
    (void) argv;
    rc = fin_admin_keys_list(&c->t.db, &c->t.arena, &items);
    if (rc != GW_OK) {
        return ctl_fin_fail(rc, "admin-key list", NULL);
    }
    printf("%-6s %-8s %-20s %-20s %s\n", "id", "status", "created_at",
           "revoked_at", "name");
    cJSON_ArrayForEach(it, items)
    {
        const cJSON *rev = cJSON_GetObjectItem(it, "revoked_at");
        printf("%-6.0f %-8s %-20s %-20s %s\n",
               cJSON_GetObjectItem(it, "id")->valuedouble,
               cJSON_GetObjectItem(it, "status")->valuestring,
               cJSON_GetObjectItem(it, "created_at")->valuestring,
               cJSON_IsString(rev) ? rev->valuestring : "-",
               cJSON_GetObjectItem(it, "name")->valuestring);
    }
    return 0;
}

static int
ctl_admin_key_revoke(struct ctl *c, int argc, char **argv)
{
    int64_t id;
    int     rc, last;

    (void) argc;
    if (gw_parse_i64(argv[0], strlen(argv[0]), &id) != 0 || id < 1) {
        fprintf(stderr, "vasctl: KEY_ID is a positive number\n");
        return 2;
    }
    rc = fin_admin_key_revoke(&c->t.db, id, 0, &last);
    if (rc == GW_ENOTFOUND || rc == GW_ECONFLICT) {
        return ctl_fin_fail(rc, "admin-key revoke",
                            rc == GW_ENOTFOUND ? "no such admin key"
                                               : "already revoked");
    }
    if (rc != GW_OK) {
        return ctl_fin_fail(rc, "admin-key revoke", NULL);
    }
    printf("admin key %lld revoked; the gateway refuses it within %d ms\n",
           (long long) id, GW_ADMIN_KEY_CACHE_MS);
    return 0;
}
