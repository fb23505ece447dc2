/*
 * fin_recon.c — reconciliation of the carrier's billed-records file
 * against a business day's CDRs (docs/reconciliation.md).
 *
 * Two passes over the file, both streaming (64 KiB reads, libcsv, one
 * record of at most FIN_RECON_RECORD_MAX bytes in memory):
 *   1. hash the bytes and check the file is usable at all (header, no
 *      runaway record): a file that is not is refused before anything is
 *      stored; the hash keys the run, so the same inputs are one run;
 *   2. store each readable record in recon_lines (multi-row INSERTs of
 *      FIN_RECON_BATCH_ROWS) and each unreadable line as a "malformed"
 *      item with its line number.
 * Then the classification is set-based SQL over recon_lines and the
 * day's CDRs (joins on uk_cdrs_cdr and ix_recon_lines_cdr), so vasctl's
 * memory does not grow with the file.
 */
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bill.h"
#include "fin.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_util.h"
#include "gw_status.h"
#include "gw_util.h"

#define FIN_RECON_NFIELDS    5
#define FIN_RECON_READ_BYTES (64 * 1024)

const char *const fin_recon_class_names[FIN_RC_COUNT] = {
    "matched",        "amount_mismatch", "charged_not_billed",
    "billed_unknown", "billed_twice",    "charged_not_delivered",
    "malformed",
};

static const char *const fin_recon_header[FIN_RECON_NFIELDS] = {
    "cdr_id", "msisdn", "amount", "currency", "billed_at",
};

/* The record being parsed. */
struct fin_recon_rec {
    char    f[FIN_RECON_NFIELDS][FIN_RECON_FIELD_MAX + 1];
    int     nfields;
    int     too_long; /* a field over FIN_RECON_FIELD_MAX */
    int     bad_utf8;
    int64_t line; /* where it starts */
};

struct fin_recon_parse {
    struct csv_parser    csv;
    struct fin_recon_rec rec;
    int64_t              line;    /* current physical line, 1-based */
    size_t               pending; /* bytes fed since the last record end */
    int                  in_record;
    int                  header_done;
    int                  fatal; /* GW_EINVAL once the file is unusable */
    char                 why[160];
    /* pass 2 only: the consumer of each record */
    int (*on_record)(struct fin_recon_parse *ps, void *ctx);
    void *ctx;
};

int
fin_utf8_valid(const void *p, size_t n)
{
    /* The one UTF-8 checker (gw_util.h), plus this format's no-NUL rule. */
    return memchr(p, '\0', n) == NULL && gw_utf8_valid(p, n);
}

static void fin_recon_fatal(struct fin_recon_parse *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fin_recon_fatal(struct fin_recon_parse *ps, const char *fmt, ...)
{
    va_list ap;

    if (ps->fatal) {
        return;
    }
    ps->fatal = GW_EINVAL;
    va_start(ap, fmt);
    vsnprintf(ps->why, sizeof(ps->why), fmt, ap);
    va_end(ap);
}

static void
fin_recon_cb_field(void *field, size_t len, void *data)
{
    struct fin_recon_parse *ps = data;
    struct fin_recon_rec   *r = &ps->rec;

    if (!ps->in_record) {
        memset(r, 0, sizeof(*r));
        r->line = ps->line;
        ps->in_record = 1;
    }
    if (!fin_utf8_valid(field, len)) {
        r->bad_utf8 = 1;
    }
    if (r->nfields < FIN_RECON_NFIELDS) {
        if (len > FIN_RECON_FIELD_MAX) {
            r->too_long = 1;
        } else {
            memcpy(r->f[r->nfields], field, len);
            r->f[r->nfields][len] = '\0';
        }
    }
    r->nfields++;
}

static void
fin_recon_cb_record(int c, void *data)
{
    struct fin_recon_parse *ps = data;
    int                     i;

    (void) c;
    ps->pending = 0;
    if (!ps->in_record || ps->fatal) {
        ps->in_record = 0;
        return; /* an empty line */
    }
    ps->in_record = 0;
    if (!ps->header_done) {
        for (i = 0; i < FIN_RECON_NFIELDS; i++) {
            if (ps->rec.nfields != FIN_RECON_NFIELDS || ps->rec.bad_utf8
                || ps->rec.too_long
                || strcmp(ps->rec.f[i], fin_recon_header[i]) != 0) {
                fin_recon_fatal(ps,
                                "wrong header on line %lld: want"
                                " cdr_id,msisdn,amount,currency,billed_at",
                                (long long) ps->rec.line);
                return;
            }
        }
        ps->header_done = 1;
        return;
    }
    if (ps->on_record != NULL && ps->on_record(ps, ps->ctx) != GW_OK) {
        fin_recon_fatal(ps, "cannot store line %lld", (long long) ps->rec.line);
    }
}

/* Feeds one piece of a line (no '\n' inside but maybe at its end). */
static void
fin_recon_feed(struct fin_recon_parse *ps, const char *p, size_t n)
{
    ps->pending += n;
    if (ps->pending > FIN_RECON_RECORD_MAX) {
        fin_recon_fatal(ps,
                        "line %lld: a record over %d bytes (a huge field or"
                        " an unclosed quote)",
                        (long long) ps->line, FIN_RECON_RECORD_MAX);
        return;
    }
    if (csv_parse(&ps->csv, p, n, fin_recon_cb_field, fin_recon_cb_record, ps)
        != n) {
        fin_recon_fatal(ps, "line %lld: %s", (long long) ps->line,
                        csv_strerror(csv_error(&ps->csv)));
    }
}

/*
 * Reads the file once: hash into sha (hex), records to ps->on_record.
 * GW_OK, or GW_EINVAL with ps->why.
 */
static int
fin_recon_read(const char *path, struct fin_recon_parse *ps, char sha[65])
{
    char          buf[FIN_RECON_READ_BYTES];
    EVP_MD_CTX   *md = EVP_MD_CTX_new();
    unsigned char h[32];
    unsigned int  hn;
    ssize_t       n;
    int           fd = open(path, O_RDONLY | O_CLOEXEC), first = 1;

    ps->line = 1;
    if (fd < 0 || md == NULL || csv_init(&ps->csv, 0) != 0) {
        fin_recon_fatal(ps, "cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    while (!ps->fatal && (n = read(fd, buf, sizeof(buf))) > 0) {
        const char *p = buf, *end = buf + n, *nl;
        EVP_DigestUpdate(md, buf, (size_t) n);
        if (first && n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
            p += 3; /* a UTF-8 byte order mark */
        }
        first = 0;
        while (p < end && !ps->fatal) {
            nl = memchr(p, '\n', (size_t) (end - p));
            fin_recon_feed(ps, p, (size_t) ((nl ? nl + 1 : end) - p));
            if (nl == NULL) {
                break;
            }
            ps->line++;
            p = nl + 1;
        }
    }
    if (!ps->fatal) {
        csv_fini(&ps->csv, fin_recon_cb_field, fin_recon_cb_record, ps);
    }
    if (!ps->fatal && !ps->header_done) {
        fin_recon_fatal(ps, "%s is empty: no header line", path);
    }
    EVP_DigestFinal_ex(md, h, &hn);
    gw_hex_encode(h, 32, sha);
done:
    if (fd >= 0) {
        close(fd);
    }
    csv_free(&ps->csv);
    EVP_MD_CTX_free(md);
    return ps->fatal ? GW_EINVAL : GW_OK;
}

/* NULL when the record is usable, else why not. */
static const char *
fin_recon_check(const struct fin_recon_rec *r, int64_t *amount)
{
    size_t i, n;

    if (r->nfields != FIN_RECON_NFIELDS) {
        return "wrong number of fields (want 5)";
    }
    if (r->bad_utf8) {
        return "not valid UTF-8";
    }
    if (r->too_long) {
        return "a field longer than 64 bytes";
    }
    n = strlen(r->f[0]);
    for (i = 0; i < n; i++) {
        char c = r->f[0][i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z') || c == '-' || c == '_')) {
            n = 0;
        }
    }
    if (n == 0) {
        return "cdr_id is not an id";
    }
    if (!bill_msisdn_valid(r->f[1])) {
        return "msisdn is not 8-15 digits";
    }
    if (gw_parse_i64(r->f[2], strlen(r->f[2]), amount) != 0
        || *amount > BILL_AMOUNT_MAX || *amount < -BILL_AMOUNT_MAX) {
        return "amount is not an integer in minor units";
    }
    if (strlen(r->f[3]) != 3 || r->f[3][0] < 'A' || r->f[3][0] > 'Z'
        || r->f[3][1] < 'A' || r->f[3][1] > 'Z' || r->f[3][2] < 'A'
        || r->f[3][2] > 'Z') {
        return "currency is not an ISO 4217 code";
    }
    if (r->f[4][0] == '\0') {
        return "billed_at is empty";
    }
    return NULL;
}

/* ---- pass 2: loading ---- */

#define FIN_ITEMS_INSERT                                                       \
    "INSERT INTO recon_items (run_id, seq, class, line_no, detail) VALUES "
#define FIN_LINES_INSERT                                                       \
    "INSERT INTO recon_lines (run_id, line_no, cdr_id, amount, currency)"      \
    " VALUES "

struct fin_recon_load {
    struct gw_db   *db;
    int64_t         run_id;
    struct gw_buf   lines, items;
    int             nlines, nitems;
    int64_t         read, malformed, total_amount;
    fin_progress_fn progress;
    void           *pctx;
};

static int fin_sql_add(struct gw_db *db, struct gw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fin_sql_add(struct gw_db *db, struct gw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    rc = gw_db_vformat(db, b, fmt, ap);
    va_end(ap);
    return rc;
}

/* Runs a statement built with fin_sql_add (autocommit). */
static int
fin_sql_run(struct gw_db *db, struct gw_buf *b)
{
    if (db->conn == NULL
        || mysql_real_query(db->conn, b->data, (unsigned long) b->len) != 0) {
        gw_log_error(db->rid, "reconciliation insert failed: %s",
                     db->conn ? mysql_error(db->conn) : "no connection");
        return GW_ERROR;
    }
    b->len = 0;
    return GW_OK;
}

static int
fin_recon_flush(struct fin_recon_load *l, int force)
{
    int rc = GW_OK;

    if (l->nlines > 0 && (force || l->nlines >= FIN_RECON_BATCH_ROWS)) {
        rc = fin_sql_run(l->db, &l->lines);
        l->nlines = 0;
    }
    if (rc == GW_OK && l->nitems > 0
        && (force || l->nitems >= FIN_RECON_BATCH_ROWS)) {
        rc = fin_sql_run(l->db, &l->items);
        l->nitems = 0;
    }
    return rc;
}

static int
fin_recon_on_record(struct fin_recon_parse *ps, void *ctx)
{
    struct fin_recon_load *l = ctx;
    const char            *why;
    int64_t                amount = 0;
    int                    rc;

    why = fin_recon_check(&ps->rec, &amount);
    l->read++;
    if (why != NULL) {
        l->malformed++;
        gw_buf_appends(&l->items, l->nitems == 0 ? FIN_ITEMS_INSERT : ",");
        rc =
            fin_sql_add(l->db, &l->items, "(%lld, %lld, 'malformed', %lld, %s)",
                        (long long) l->run_id, (long long) ps->rec.line,
                        (long long) ps->rec.line, why);
        l->nitems++;
    } else {
        l->total_amount += amount;
        gw_buf_appends(&l->lines, l->nlines == 0 ? FIN_LINES_INSERT : ",");
        rc = fin_sql_add(l->db, &l->lines, "(%lld, %lld, %s, %lld, %s)",
                         (long long) l->run_id, (long long) ps->rec.line,
                         ps->rec.f[0], (long long) amount, ps->rec.f[3]);
        l->nlines++;
    }
    if (l->progress != NULL && l->read % 50000 == 0) {
        l->progress(l->pctx, l->read, 0);
    }
    return rc == GW_OK ? fin_recon_flush(l, 0) : rc;
}

/* ---- classification ---- */

/* Lines after the first of the same cdr_id: billed twice. */
#define FIN_RECON_TWICE_SQL                                                    \
    "INSERT INTO recon_items (run_id, seq, class, line_no, cdr_id,"            \
    " our_amount, their_amount, detail) SELECT l.run_id, l.line_no,"           \
    " 'billed_twice', l.line_no, l.cdr_id, c.amount, l.amount,"                \
    " CONCAT('first billed on line ', f.first_line) FROM (SELECT cdr_id,"      \
    " MIN(line_no) first_line FROM recon_lines WHERE run_id = %lld GROUP BY"   \
    " cdr_id HAVING COUNT(*) > 1) f JOIN recon_lines l ON l.run_id = %lld AND" \
    " l.cdr_id = f.cdr_id AND l.line_no > f.first_line LEFT JOIN cdrs c ON"    \
    " c.cdr_id = l.cdr_id AND c.business_day = %s"

/* First lines of each cdr_id: unknown, amount mismatch, never delivered
 * (a ringtone charge, not refunded, never downloaded) or matched. */
#define FIN_RECON_FIRST_SQL                                                    \
    "INSERT INTO recon_items (run_id, seq, class, line_no, cdr_id,"            \
    " our_amount, their_amount, detail) SELECT * FROM (SELECT l.run_id,"       \
    " l.line_no AS seq, CASE WHEN c.id IS NULL OR c.business_day <> %s THEN"   \
    " 'billed_unknown' WHEN c.amount <> l.amount OR c.currency <> l.currency"  \
    " THEN 'amount_mismatch' WHEN c.kind = 'charge' AND EXISTS (SELECT 1 FROM" \
    " purchases p JOIN items i ON i.id = p.item_id AND i.kind = 'ringtone'"    \
    " WHERE p.charge_txn_id = c.txn_id AND p.status <> 'refunded' AND NOT"     \
    " EXISTS (SELECT 1 FROM entitlement_downloads d WHERE d.entitlement_id ="  \
    " p.entitlement_id)) THEN 'charged_not_delivered' END AS cls, l.line_no,"  \
    " l.cdr_id, IF(c.business_day = %s, c.amount, NULL) our, l.amount,"        \
    " CASE WHEN c.id IS NULL THEN 'no such CDR' WHEN c.business_day <> %s"     \
    " THEN CONCAT('a CDR of ', c.business_day) WHEN c.currency <> l.currency"  \
    " THEN CONCAT('currency ', c.currency, ' billed as ', l.currency) END"     \
    " FROM recon_lines l LEFT JOIN cdrs c ON c.cdr_id = l.cdr_id WHERE"        \
    " l.run_id = %lld AND NOT EXISTS (SELECT 1 FROM recon_lines e WHERE"       \
    " e.run_id = l.run_id AND e.cdr_id = l.cdr_id AND e.line_no <"             \
    " l.line_no)) x WHERE x.cls IS NOT NULL"

/* The day's CDRs the file does not have. */
#define FIN_RECON_NOT_BILLED_SQL                                               \
    "INSERT INTO recon_items (run_id, seq, class, line_no, cdr_id,"            \
    " our_amount, their_amount, detail) SELECT %lld, -c.id,"                   \
    " 'charged_not_billed', NULL, c.cdr_id, c.amount, NULL, c.kind FROM"       \
    " cdrs c WHERE c.business_day = %s AND NOT EXISTS (SELECT 1 FROM"          \
    " recon_lines l WHERE l.run_id = %lld AND l.cdr_id = c.cdr_id)"

static int
fin_recon_classify(struct gw_db *db, int64_t run_id, const char *day)
{
    int rc;

    rc = gw_db_exec(db, FIN_RECON_TWICE_SQL, (long long) run_id,
                    (long long) run_id, day);
    if (rc == GW_OK) {
        rc = gw_db_exec(db, FIN_RECON_FIRST_SQL, day, day, day,
                        (long long) run_id);
    }
    if (rc == GW_OK) {
        rc = gw_db_exec(db, FIN_RECON_NOT_BILLED_SQL, (long long) run_id, day,
                        (long long) run_id);
    }
    return rc;
}

static enum fin_recon_class
fin_recon_class_of(const char *name)
{
    int i;

    for (i = 0; i < FIN_RC_COUNT; i++) {
        if (strcmp(fin_recon_class_names[i], name) == 0) {
            return (enum fin_recon_class) i;
        }
    }
    return FIN_RC_MALFORMED;
}

/* Counts and amounts per class; matched = the rest of the valid lines. */
static int
fin_recon_totals(struct gw_db *db, struct gw_arena *a,
                 const struct fin_recon_load *l, struct fin_recon_run *run)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int64_t    their = 0, nfile = 0;
    int        rc, k;

    rc = gw_db_query(db, a, &res,
                     "SELECT class, COUNT(*), COALESCE(SUM(CASE class WHEN"
                     " 'amount_mismatch' THEN their_amount - our_amount WHEN"
                     " 'charged_not_billed' THEN our_amount WHEN"
                     " 'charged_not_delivered' THEN our_amount WHEN"
                     " 'malformed' THEN 0 ELSE their_amount END), 0),"
                     " COALESCE(SUM(their_amount), 0) FROM recon_items WHERE"
                     " run_id = %lld GROUP BY class",
                     (long long) l->run_id);
    if (rc != GW_OK) {
        return rc;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        k = fin_recon_class_of(row[0]);
        run->count[k] = gw_db_col_i64(row, 1);
        run->amount[k] = gw_db_col_i64(row, 2);
        if (k != FIN_RC_NOT_BILLED && k != FIN_RC_MALFORMED) {
            their += gw_db_col_i64(row, 3);
            nfile += run->count[k];
        }
    }
    run->lines = l->read;
    run->count[FIN_RC_MATCHED] = l->read - l->malformed - nfile;
    run->amount[FIN_RC_MATCHED] = l->total_amount - their;
    return GW_OK;
}

static int
fin_recon_store_totals(struct gw_db *db, const struct fin_recon_run *run)
{
    const int64_t *n = run->count, *m = run->amount;

    return gw_db_exec(
        db,
        "UPDATE recon_runs SET state = 'done', lines_read = %lld, malformed ="
        " %lld, matched = %lld, matched_amount = %lld, mismatch = %lld,"
        " mismatch_amount = %lld, not_billed = %lld, not_billed_amount = %lld,"
        " unknown = %lld, unknown_amount = %lld, twice = %lld, twice_amount ="
        " %lld, undelivered = %lld, undelivered_amount = %lld WHERE id = %lld",
        (long long) run->lines, (long long) n[FIN_RC_MALFORMED],
        (long long) n[FIN_RC_MATCHED], (long long) m[FIN_RC_MATCHED],
        (long long) n[FIN_RC_MISMATCH], (long long) m[FIN_RC_MISMATCH],
        (long long) n[FIN_RC_NOT_BILLED], (long long) m[FIN_RC_NOT_BILLED],
        (long long) n[FIN_RC_UNKNOWN], (long long) m[FIN_RC_UNKNOWN],
        (long long) n[FIN_RC_TWICE], (long long) m[FIN_RC_TWICE],
        (long long) n[FIN_RC_UNDELIVERED], (long long) m[FIN_RC_UNDELIVERED],
        (long long) run->id);
}

/* Drops what a run left behind (an interrupted run, or its staging). */
static int
fin_recon_purge(struct gw_db *db, int64_t run_id, int all)
{
    int rc;

    do {
        rc = gw_db_exec(db,
                        "DELETE FROM recon_lines WHERE run_id = %lld"
                        " LIMIT 20000",
                        (long long) run_id);
    } while (rc == GW_OK && db->affected > 0);
    if (rc != GW_OK || !all) {
        return rc;
    }
    do {
        rc = gw_db_exec(db,
                        "DELETE FROM recon_items WHERE run_id = %lld"
                        " LIMIT 20000",
                        (long long) run_id);
    } while (rc == GW_OK && db->affected > 0);
    return rc == GW_OK ? gw_db_exec(
               db, "DELETE FROM recon_runs WHERE id = %lld", (long long) run_id)
                       : rc;
}

/* Reads a stored run into run. */
static void
fin_recon_row_fill(MYSQL_ROW row, struct fin_recon_run *run)
{
    int k;

    run->id = gw_db_col_i64(row, 0);
    snprintf(run->day, sizeof(run->day), "%s", row[1]);
    snprintf(run->file_sha256, sizeof(run->file_sha256), "%s", row[2]);
    run->lines = gw_db_col_i64(row, 3);
    for (k = 0; k < FIN_RC_COUNT; k++) {
        run->count[k] = gw_db_col_i64(row, 4 + 2 * (unsigned) k);
        run->amount[k] = gw_db_col_i64(row, 5 + 2 * (unsigned) k);
    }
}

#define FIN_RECON_RUN_COLS                                                     \
    "id, DATE_FORMAT(day, '%%Y-%%m-%%d'), file_sha256, lines_read, matched,"   \
    " matched_amount, mismatch, mismatch_amount, not_billed,"                  \
    " not_billed_amount, unknown, unknown_amount, twice, twice_amount,"        \
    " undelivered, undelivered_amount, malformed, 0, state,"                   \
    " DATE_FORMAT(created_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ'), file_name,"         \
    " created_by"

/*
 * The run of these inputs: GW_OK with run->reused when it is done, else
 * a fresh 'loading' row (an interrupted earlier attempt is purged).
 */
static int
fin_recon_begin(struct gw_db *db, struct gw_arena *a, const char *key,
                const char *day, const char *path, const char *actor,
                struct fin_recon_run *run)
{
    MYSQL_ROW   row;
    const char *base = strrchr(path, '/');
    int         rc;

    rc = gw_db_row(db, a, &row,
                   "SELECT " FIN_RECON_RUN_COLS " FROM recon_runs WHERE"
                   " run_key = %s",
                   key);
    if (rc != GW_OK) {
        return rc;
    }
    if (row != NULL && strcmp(row[18], "done") == 0) {
        fin_recon_row_fill(row, run);
        run->reused = 1;
        return GW_OK;
    }
    if (row != NULL
        && (rc = fin_recon_purge(db, gw_db_col_i64(row, 0), 1)) != GW_OK) {
        return rc;
    }
    base = base ? base + 1 : path;
    rc = gw_db_exec(db,
                    "INSERT INTO recon_runs (run_key, day, file_name,"
                    " file_sha256, state, created_at, created_by) VALUES (%s,"
                    " %s, LEFT(%s, 255), %s, 'loading', UTC_TIMESTAMP(3), %s)",
                    key, day, base, run->file_sha256, actor);
    if (rc == GW_EDUP) {
        return GW_ECONFLICT; /* the same inputs, being reconciled now */
    }
    run->id = db->insert_id;
    return rc;
}

static int
fin_recon_load_run(struct gw_db *db, const char *path, const char *day,
                   const char *sha1, struct fin_recon_load *l, const char **why)
{
    static __thread char   whybuf[160];
    struct fin_recon_parse ps;
    char                   sha[65];
    int                    rc;

    memset(&ps, 0, sizeof(ps));
    ps.on_record = fin_recon_on_record;
    ps.ctx = l;
    rc = fin_recon_read(path, &ps, sha);
    if (rc == GW_OK && strcmp(sha, sha1) != 0) {
        fin_recon_fatal(&ps, "%s changed while it was read", path);
        rc = GW_EINVAL;
    }
    if (rc == GW_OK) {
        rc = fin_recon_flush(l, 1);
    }
    if (rc == GW_OK) {
        rc = fin_recon_classify(db, l->run_id, day);
    }
    if (rc != GW_OK && ps.fatal) {
        snprintf(whybuf, sizeof(whybuf), "%s", ps.why);
        *why = whybuf;
    }
    return rc;
}

int
fin_recon_run(struct gw_db *db, struct gw_arena *a, const struct gw_config *cfg,
              const char *path, int64_t day, const char *actor,
              fin_progress_fn progress, void *pctx, struct fin_recon_run *run,
              const char **why)
{
    static __thread char   whybuf[160];
    struct fin_recon_parse ps;
    struct fin_recon_load  l = {.db = db, .progress = progress, .pctx = pctx};
    char                   key[65], buf[100];
    int                    rc;

    (void) cfg;
    memset(run, 0, sizeof(*run));
    memset(&ps, 0, sizeof(ps));
    fin_day_format(day, run->day);
    /* Pass 1: usable at all? (nothing stored before this says yes) */
    if (fin_recon_read(path, &ps, run->file_sha256) != GW_OK) {
        snprintf(whybuf, sizeof(whybuf), "%s", ps.why);
        *why = whybuf;
        return GW_EINVAL;
    }
    snprintf(buf, sizeof(buf), "v1:%s:%s", run->day, run->file_sha256);
    gw_sha256_hex(buf, strlen(buf), key);
    rc = gw_db_connect(db);
    if (rc == GW_OK) {
        rc = fin_recon_begin(db, a, key, run->day, path, actor, run);
    }
    if (rc != GW_OK || run->reused) {
        return rc;
    }
    l.run_id = run->id;
    rc = fin_recon_load_run(db, path, run->day, run->file_sha256, &l, why);
    if (rc == GW_OK) {
        rc = fin_recon_totals(db, a, &l, run);
    }
    if (rc == GW_OK) {
        rc = fin_recon_store_totals(db, run);
    }
    if (progress != NULL) {
        progress(pctx, l.read, 1);
    }
    gw_buf_free(&l.lines);
    gw_buf_free(&l.items);
    if (rc != GW_OK) {
        fin_recon_purge(db, run->id, 1); /* nothing stored */
        return rc;
    }
    return fin_recon_purge(db, run->id, 0);
}

/* ---- reading runs back ---- */

int
fin_recon_report(struct gw_db *db, int64_t run_id, fin_sink_fn sink, void *ctx)
{
    static const char *const cols[] = {"class",      "line_no",      "cdr_id",
                                       "our_amount", "their_amount", "detail"};
    static const int         text[] = {1, 0, 1, 0, 0, 1};
    struct gw_buf            out = {0};
    MYSQL_RES               *res;
    MYSQL_ROW                row;
    int64_t                  last = INT64_MIN, n;
    int                      rc = GW_OK, i;

    for (i = 0; i < 6 && rc == GW_OK; i++) {
        rc = fin_csv_cell(&out, cols[i], 0, i == 5);
    }
    do {
        if (rc == GW_OK) {
            rc = gw_db_query(db, NULL, &res,
                             "SELECT class, line_no, cdr_id, our_amount,"
                             " their_amount, detail, seq FROM recon_items"
                             " WHERE run_id = %lld AND seq > %lld ORDER BY"
                             " seq LIMIT %d",
                             (long long) run_id, (long long) last,
                             FIN_BATCH_ROWS);
        }
        if (rc != GW_OK) {
            break;
        }
        n = 0;
        while (rc == GW_OK && (row = mysql_fetch_row(res)) != NULL) {
            for (i = 0; i < 6 && rc == GW_OK; i++) {
                rc = fin_csv_cell(&out, row[i], text[i], i == 5);
            }
            last = gw_db_col_i64(row, 6);
            n++;
        }
        mysql_free_result(res);
        if (rc == GW_OK && out.len > 0 && sink(ctx, out.data, out.len) != 0) {
            rc = GW_ERROR;
        }
        out.len = 0;
    } while (rc == GW_OK && n == FIN_BATCH_ROWS);
    gw_buf_free(&out);
    return rc;
}

static cJSON *
fin_recon_json(MYSQL_ROW row)
{
    struct fin_recon_run run;
    cJSON               *o = cJSON_CreateObject(), *cl;
    int                  k;

    fin_recon_row_fill(row, &run);
    cJSON_AddNumberToObject(o, "id", (double) run.id);
    cJSON_AddStringToObject(o, "day", run.day);
    cJSON_AddStringToObject(o, "state", row[18]);
    cJSON_AddStringToObject(o, "file_name", row[20]);
    cJSON_AddStringToObject(o, "file_sha256", run.file_sha256);
    cJSON_AddStringToObject(o, "created_at", row[19]);
    cJSON_AddStringToObject(o, "created_by", row[21]);
    cJSON_AddNumberToObject(o, "lines", (double) run.lines);
    cl = cJSON_AddObjectToObject(o, "classes");
    for (k = 0; k < FIN_RC_COUNT; k++) {
        cJSON *c = cJSON_AddObjectToObject(cl, fin_recon_class_names[k]);
        cJSON_AddNumberToObject(c, "count", (double) run.count[k]);
        cJSON_AddNumberToObject(c, "amount", (double) run.amount[k]);
    }
    cJSON_AddNumberToObject(
        o, "discrepancies",
        (double) (run.count[FIN_RC_MISMATCH] + run.count[FIN_RC_NOT_BILLED]
                  + run.count[FIN_RC_UNKNOWN] + run.count[FIN_RC_TWICE]
                  + run.count[FIN_RC_UNDELIVERED]
                  + run.count[FIN_RC_MALFORMED]));
    return o;
}

int
fin_recon_list(struct gw_db *db, struct gw_arena *a, int64_t before_id,
               int limit, cJSON **items, int64_t *next_before)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int64_t    last = 0;
    int        rc, n = 0;

    *next_before = 0;
    rc = gw_db_query(db, a, &res,
                     "SELECT " FIN_RECON_RUN_COLS " FROM recon_runs WHERE"
                     " state = 'done' AND id < %lld ORDER BY id DESC LIMIT %d",
                     (long long) (before_id > 0 ? before_id : INT64_MAX),
                     limit + 1);
    if (rc != GW_OK) {
        return rc;
    }
    *items = gw_json_own(a, cJSON_CreateArray());
    if (*items == NULL) {
        return GW_ERROR;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        if (n == limit) {
            *next_before = last;
            break;
        }
        cJSON_AddItemToArray(*items, fin_recon_json(row));
        last = gw_db_col_i64(row, 0);
        n++;
    }
    return GW_OK;
}

int
fin_recon_get(struct gw_db *db, struct gw_arena *a, int64_t id, cJSON **out)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_db_row(db, a, &row,
                   "SELECT " FIN_RECON_RUN_COLS " FROM recon_runs WHERE"
                   " id = %lld AND state = 'done'",
                   (long long) id);
    if (rc != GW_OK) {
        return rc;
    }
    if (row == NULL) {
        return GW_ENOTFOUND;
    }
    *out = gw_json_own(a, fin_recon_json(row));
    return *out != NULL ? GW_OK : GW_ERROR;
}
