/*
 * fin_recon.c — reconciliation of the carrier's billed-records file
 * against a business day's CDRs (docs/reconciliation.md).
 *
 * The file is read in streaming passes (64 KiB reads, libcsv, one record
 * of at most FIN_RECON_RECORD_MAX bytes in memory):
 *   1. hash the bytes and check the file is usable at all (header, no
 *      runaway record): a file that is not is refused before anything is
 *      stored; the hash keys the run, so the same inputs are one run;
 *   2. with the day's CDRs in memory (one streamed statement; cdr_id,
 *      amount, currency, kind and a "never delivered" flag, 48 bytes per
 *      CDR, indexed by a hash of cdr_id), probe each record: a record of
 *      one of our CDRs is classified at once (matched, mismatch, twice,
 *      never delivered) and only discrepancies are stored (recon_items,
 *      multi-row INSERTs of FIN_RECON_BATCH_ROWS); a record that is no CDR
 *      of the day is staged in recon_lines; then the CDRs no record billed
 *      are "charged_not_billed". A day of more than [finance]
 *      recon_memory_cdrs CDRs is done in parts by hash, one pass over the
 *      file each, so memory is bounded by the part, not the day.
 * Then the staged records (unknown ids: few, unless the file is another
 * day's) are classified by two set-based statements. No statement is sent
 * per record: a 1,000,000-record file with a handful of discrepancies is
 * one SELECT and a few INSERTs.
 */
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bill.h"
#include "fin.h"
#include "fin_internal.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_status.h"
#include "gw_util.h"

#define FIN_RECON_NFIELDS    5
#define FIN_RECON_READ_BYTES (64 * 1024)
#define FIN_RECON_NAME_BYTES 1024 /* file_name: VARCHAR(255), cut by LEFT() */

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
    int64_t              next;    /* where the next record starts */
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
    ps->next = ps->line + 1;
    if (!ps->in_record || ps->fatal) {
        ps->in_record = 0;
        return; /* an empty line */
    }
    ps->in_record = 0;
    if (ps->rec.line > FIN_RECON_LINES_MAX) {
        fin_recon_fatal(ps, "more than %lld lines",
                        (long long) FIN_RECON_LINES_MAX);
        return;
    }
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

    ps->line = ps->next = 1;
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
    /* A quote still open at the end swallowed every line after it,
     * however short that tail (longer ones trip FIN_RECON_RECORD_MAX
     * above). libcsv's csv_fini says so only in strict mode, which is set
     * now: while parsing, a stray quote must stay one malformed line. */
    if (!ps->fatal
        && (csv_set_opts(&ps->csv, CSV_STRICT | CSV_STRICT_FINI) != 0
            || csv_fini(&ps->csv, fin_recon_cb_field, fin_recon_cb_record, ps)
                != 0)) {
        fin_recon_fatal(ps,
                        "line %lld: a quote that never closes (it runs to the"
                        " end of the file)",
                        (long long) (ps->in_record ? ps->rec.line : ps->next));
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

/* ---- pass 2: the day's CDRs in memory, the file probed against them ---- */

#define FIN_RECON_CDR_ID_LEN 32 /* cdrs.cdr_id is CHAR(32) */
#define FIN_RCDR_KIND_MASK   3u
#define FIN_RCDR_UNDELIVERED 4u

static const char *const fin_recon_kinds[] = {"charge", "refund", "capture"};

/* One CDR of the day (48 bytes: ~48 MB for a 1,000,000-CDR day). */
struct fin_recon_cdr {
    char     id[FIN_RECON_CDR_ID_LEN]; /* NUL-padded */
    int64_t  amount;
    uint32_t first_line; /* the first record that bills it; 0: none */
    char     currency[3];
    uint8_t  flags; /* kind index | FIN_RCDR_UNDELIVERED */
};

/*
 * The CDRs of one partition of the day (by hash of cdr_id) and an open
 * addressing index over them. A day of more than [finance]
 * recon_memory_cdrs CDRs is matched in several partitions, each a pass
 * over the file, so memory stays bounded whatever the day's size.
 */
struct fin_recon_day {
    struct fin_recon_cdr *cdr;
    size_t                n, cap;
    uint32_t             *slot; /* 1 + index into cdr; 0: empty */
    size_t                mask;
    uint64_t              part, nparts;
};

#define FIN_ITEMS_INSERT                                                       \
    "INSERT INTO recon_items (run_id, seq, class, line_no, cdr_id,"            \
    " our_amount, their_amount, detail) VALUES "
#define FIN_LINES_INSERT                                                       \
    "INSERT INTO recon_lines (run_id, line_no, cdr_id, amount, currency)"      \
    " VALUES "

struct fin_recon_load {
    struct gw_db        *db;
    int64_t              run_id;
    struct fin_recon_day day;
    struct gw_buf        lines, items;
    int                  nlines, nitems;
    int64_t              read, malformed, total_amount;
    int64_t              not_billed_seq; /* negative: before every line */
    fin_progress_fn      progress;
    void                *pctx;
};

/* An item to store: NULL pointers are SQL NULLs. */
struct fin_recon_item {
    int64_t        seq;
    const char    *cls;
    const int64_t *line_no;
    const char    *cdr_id;
    const int64_t *ours, *theirs;
    const char    *detail;
};

int
fin_sql_add(struct gw_db *db, struct gw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    rc = gw_db_vformat(db, b, fmt, ap);
    va_end(ap);
    return rc;
}

int
fin_sql_run(struct gw_db *db, struct gw_buf *b)
{
    if (db->conn == NULL
        || mysql_real_query(db->conn, b->data, (unsigned long) b->len) != 0) {
        gw_log_error(db->rid, "reconciliation statement failed: %s",
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
fin_sql_add_i64(struct gw_db *db, struct gw_buf *b, const int64_t *v)
{
    return v != NULL ? fin_sql_add(db, b, ", %lld", (long long) *v)
                     : gw_buf_appends(b, ", NULL");
}

/* Queues one recon_items row (sent FIN_RECON_BATCH_ROWS at a time). */
static int
fin_recon_item_add(struct fin_recon_load *l, const struct fin_recon_item *it)
{
    struct gw_buf *b = &l->items;
    int            rc;

    gw_buf_appends(b, l->nitems == 0 ? FIN_ITEMS_INSERT : ",");
    rc = fin_sql_add(l->db, b, "(%lld, %lld, %s", (long long) l->run_id,
                     (long long) it->seq, it->cls);
    if (rc == GW_OK) {
        rc = fin_sql_add_i64(l->db, b, it->line_no);
    }
    if (rc == GW_OK) {
        rc = fin_sql_add(l->db, b, ", %s", it->cdr_id);
    }
    if (rc == GW_OK) {
        rc = fin_sql_add_i64(l->db, b, it->ours);
    }
    if (rc == GW_OK) {
        rc = fin_sql_add_i64(l->db, b, it->theirs);
    }
    if (rc == GW_OK) {
        rc = fin_sql_add(l->db, b, ", %s)", it->detail);
    }
    l->nitems++;
    return rc;
}

/* FNV-1a with a 64-bit finaliser (murmur3): partition and slot. */
static uint64_t
fin_recon_hash(const char *s, size_t n)
{
    uint64_t h = gw_hash_bytes(s, n);

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static int
fin_recon_in_part(const struct fin_recon_day *d, uint64_t h)
{
    return (h >> 32) % d->nparts == d->part;
}

static struct fin_recon_cdr *
fin_recon_day_find(const struct fin_recon_day *d, const char *id, size_t n,
                   uint64_t h)
{
    size_t                i = (size_t) h & d->mask;
    struct fin_recon_cdr *c;

    if (n > FIN_RECON_CDR_ID_LEN) {
        return NULL; /* longer than any of ours */
    }
    for (; d->slot[i] != 0; i = (i + 1) & d->mask) {
        c = &d->cdr[d->slot[i] - 1];
        if (memcmp(c->id, id, n) == 0
            && (n == FIN_RECON_CDR_ID_LEN || c->id[n] == '\0')) {
            return c;
        }
    }
    return NULL;
}

/* Indexes d->cdr (load factor at most 1/2). */
static int
fin_recon_day_index(struct fin_recon_day *d)
{
    size_t slots = 1024, k, i;

    while (slots < 2 * d->n) {
        slots *= 2;
    }
    free(d->slot);
    d->slot = calloc(slots, sizeof(*d->slot));
    if (d->slot == NULL) {
        return GW_ERROR;
    }
    d->mask = slots - 1;
    for (k = 0; k < d->n; k++) {
        const char *id = d->cdr[k].id;
        size_t      n = strnlen(id, FIN_RECON_CDR_ID_LEN);

        i = (size_t) fin_recon_hash(id, n) & d->mask;
        while (d->slot[i] != 0) {
            i = (i + 1) & d->mask;
        }
        d->slot[i] = (uint32_t) (k + 1);
    }
    return GW_OK;
}

/* Appends one streamed row (cdr_id, amount, currency, kind, undelivered)
 * when it falls in the current partition. */
static int
fin_recon_day_add(struct fin_recon_day *d, MYSQL_ROW row,
                  const unsigned long *len)
{
    struct fin_recon_cdr *c;
    unsigned              k;

    if (len[0] > FIN_RECON_CDR_ID_LEN || len[2] != 3
        || !fin_recon_in_part(d, fin_recon_hash(row[0], len[0]))) {
        return len[0] > FIN_RECON_CDR_ID_LEN || len[2] != 3 ? GW_ERROR : GW_OK;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 65536;
        void  *p = realloc(d->cdr, cap * sizeof(*d->cdr));
        if (p == NULL) {
            return GW_ERROR;
        }
        d->cdr = p;
        d->cap = cap;
    }
    c = &d->cdr[d->n++];
    memset(c, 0, sizeof(*c));
    memcpy(c->id, row[0], len[0]);
    c->amount = gw_db_col_i64(row, 1);
    memcpy(c->currency, row[2], 3);
    for (k = 0; k < 3 && strcmp(row[3], fin_recon_kinds[k]) != 0; k++) {
    }
    c->flags = (uint8_t) (k % 3);
    if (row[4] != NULL && row[4][0] == '1') {
        c->flags |= FIN_RCDR_UNDELIVERED;
    }
    return GW_OK;
}

/*
 * The day's CDRs in id order with their "never delivered" flag: a ringtone
 * charge, not refunded, whose entitlement has no download. One statement
 * (the purchase by primary key, the download by its key), streamed.
 */
#define FIN_RECON_DAY_SQL                                                      \
    "SELECT c.cdr_id, c.amount, c.currency, c.kind, c.kind = 'charge' AND"     \
    " i.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM entitlement_downloads d"  \
    " WHERE d.entitlement_id = p.entitlement_id) FROM cdrs c LEFT JOIN"        \
    " purchases p ON p.id = c.purchase_id AND p.charge_txn_id = c.txn_id AND"  \
    " p.status <> 'refunded' LEFT JOIN items i ON i.id = p.item_id AND"        \
    " i.kind = 'ringtone' WHERE c.business_day = %s ORDER BY c.id"

static int
fin_recon_day_load(struct gw_db *db, const char *day, struct fin_recon_day *d)
{
    struct gw_buf  q = {0};
    MYSQL_RES     *res = NULL;
    MYSQL_ROW      row;
    unsigned long *len;
    int            rc;

    d->n = 0;
    rc = fin_sql_add(db, &q, FIN_RECON_DAY_SQL, day);
    if (rc != GW_OK || db->conn == NULL
        || mysql_real_query(db->conn, q.data, (unsigned long) q.len) != 0
        || (res = mysql_use_result(db->conn)) == NULL) {
        rc = GW_ERROR;
        goto done;
    }
    while (rc == GW_OK && (row = mysql_fetch_row(res)) != NULL) {
        len = mysql_fetch_lengths(res);
        rc = fin_recon_day_add(d, row, len);
    }
    if (rc == GW_OK && mysql_errno(db->conn) != 0) {
        rc = GW_ERROR;
    }
    if (rc == GW_OK) {
        rc = fin_recon_day_index(d);
    }
done:
    if (rc != GW_OK) {
        gw_log_error(db->rid, "reading the day's CDRs failed: %s",
                     db->conn ? mysql_error(db->conn) : "no connection");
    }
    if (res != NULL) {
        mysql_free_result(res); /* drains what is left */
    }
    gw_buf_free(&q);
    return rc;
}

static void
fin_recon_day_free(struct fin_recon_day *d)
{
    free(d->cdr);
    free(d->slot);
    d->cdr = NULL;
    d->slot = NULL;
    d->n = d->cap = 0;
}

/* A record of one of our CDRs: billed twice, mismatched, undelivered or
 * matched (nothing stored). */
static int
fin_recon_known(struct fin_recon_load *l, struct fin_recon_cdr *c,
                const struct fin_recon_rec *r, int64_t amount)
{
    struct fin_recon_item it = {.seq = r->line,
                                .line_no = &r->line,
                                .cdr_id = r->f[0],
                                .ours = &c->amount,
                                .theirs = &amount};
    char                  detail[96];

    if (c->first_line != 0) {
        snprintf(detail, sizeof(detail), "first billed on line %lu",
                 (unsigned long) c->first_line);
        it.cls = "billed_twice";
        it.detail = detail;
        return fin_recon_item_add(l, &it);
    }
    c->first_line = (uint32_t) r->line;
    if (memcmp(c->currency, r->f[3], 3) != 0) {
        snprintf(detail, sizeof(detail), "currency %.3s billed as %s",
                 c->currency, r->f[3]);
        it.cls = "amount_mismatch";
        it.detail = detail;
        return fin_recon_item_add(l, &it);
    }
    if (c->amount != amount) {
        it.cls = "amount_mismatch";
        return fin_recon_item_add(l, &it);
    }
    if (c->flags & FIN_RCDR_UNDELIVERED) {
        it.cls = "charged_not_delivered";
        return fin_recon_item_add(l, &it);
    }
    return GW_OK;
}

/* A record that is no CDR of this day: staged for the set-based
 * classification (billed twice, or unknown / another day's). */
static int
fin_recon_stage(struct fin_recon_load *l, const struct fin_recon_rec *r,
                int64_t amount)
{
    gw_buf_appends(&l->lines, l->nlines == 0 ? FIN_LINES_INSERT : ",");
    l->nlines++;
    return fin_sql_add(l->db, &l->lines, "(%lld, %lld, %s, %lld, %s)",
                       (long long) l->run_id, (long long) r->line, r->f[0],
                       (long long) amount, r->f[3]);
}

static int
fin_recon_on_record(struct fin_recon_parse *ps, void *ctx)
{
    struct fin_recon_load *l = ctx;
    const char            *why;
    int64_t                amount = 0;
    uint64_t               h;
    struct fin_recon_cdr  *c;
    int                    rc, first = l->day.part == 0;

    why = fin_recon_check(&ps->rec, &amount);
    if (first) { /* counted in the first partition's pass only */
        l->read++;
        l->malformed += why != NULL;
        l->total_amount += why == NULL ? amount : 0;
        if (l->progress != NULL && l->read % 50000 == 0) {
            l->progress(l->pctx, l->read, 0);
        }
    }
    if (why != NULL) {
        struct fin_recon_item it = {.seq = ps->rec.line,
                                    .cls = "malformed",
                                    .line_no = &ps->rec.line,
                                    .detail = why};
        rc = first ? fin_recon_item_add(l, &it) : GW_OK;
        return rc == GW_OK ? fin_recon_flush(l, 0) : rc;
    }
    h = fin_recon_hash(ps->rec.f[0], strlen(ps->rec.f[0]));
    if (!fin_recon_in_part(&l->day, h)) {
        return GW_OK;
    }
    c = fin_recon_day_find(&l->day, ps->rec.f[0], strlen(ps->rec.f[0]), h);
    rc = c != NULL ? fin_recon_known(l, c, &ps->rec, amount)
                   : fin_recon_stage(l, &ps->rec, amount);
    return rc == GW_OK ? fin_recon_flush(l, 0) : rc;
}

/* The partition's CDRs no record billed. */
static int
fin_recon_not_billed(struct fin_recon_load *l)
{
    size_t k;
    int    rc = GW_OK;

    for (k = 0; k < l->day.n && rc == GW_OK; k++) {
        struct fin_recon_cdr *c = &l->day.cdr[k];
        struct fin_recon_item it = {.cls = "charged_not_billed",
                                    .ours = &c->amount};
        char                  id[FIN_RECON_CDR_ID_LEN + 1];

        if (c->first_line != 0) {
            continue;
        }
        memcpy(id, c->id, FIN_RECON_CDR_ID_LEN);
        id[FIN_RECON_CDR_ID_LEN] = '\0';
        it.seq = l->not_billed_seq++;
        it.cdr_id = id;
        it.detail = fin_recon_kinds[c->flags & FIN_RCDR_KIND_MASK];
        rc = fin_recon_item_add(l, &it);
        if (rc == GW_OK) {
            rc = fin_recon_flush(l, 0);
        }
    }
    return rc;
}

/* ---- classification of the staged records (none is a CDR of the day) ---- */

/* Lines after the first of the same cdr_id: billed twice. */
#define FIN_RECON_TWICE_SQL                                                    \
    "INSERT INTO recon_items (run_id, seq, class, line_no, cdr_id,"            \
    " our_amount, their_amount, detail) SELECT l.run_id, l.line_no,"           \
    " 'billed_twice', l.line_no, l.cdr_id, NULL, l.amount,"                    \
    " CONCAT('first billed on line ', f.first_line) FROM (SELECT cdr_id,"      \
    " MIN(line_no) first_line FROM recon_lines WHERE run_id = %lld GROUP BY"   \
    " cdr_id HAVING COUNT(*) > 1) f JOIN recon_lines l ON l.run_id = %lld AND" \
    " l.cdr_id = f.cdr_id AND l.line_no > f.first_line"

/* The first line of each cdr_id: unknown (or another day's CDR). */
#define FIN_RECON_UNKNOWN_SQL                                                  \
    "INSERT INTO recon_items (run_id, seq, class, line_no, cdr_id,"            \
    " our_amount, their_amount, detail) SELECT l.run_id, l.line_no,"           \
    " 'billed_unknown', l.line_no, l.cdr_id, NULL, l.amount, IF(c.id IS"       \
    " NULL, 'no such CDR', CONCAT('a CDR of ', c.business_day)) FROM (SELECT"  \
    " cdr_id, MIN(line_no) first_line FROM recon_lines WHERE run_id = %lld"    \
    " GROUP BY cdr_id) f JOIN recon_lines l ON l.run_id = %lld AND l.line_no"  \
    " = f.first_line LEFT JOIN cdrs c ON c.cdr_id = l.cdr_id"

static int
fin_recon_classify(struct gw_db *db, int64_t run_id)
{
    int rc;

    rc = gw_db_exec(db, FIN_RECON_TWICE_SQL, (long long) run_id,
                    (long long) run_id);
    if (rc == GW_OK) {
        rc = gw_db_exec(db, FIN_RECON_UNKNOWN_SQL, (long long) run_id,
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
 * The file's name as stored (recon_runs.file_name, shown by the console):
 * the last part of path, valid UTF-8 whatever bytes the file system gave
 * (a Latin-1 name from a Windows share), each bad byte as U+FFFD.
 */
static void
fin_recon_file_name(const char *path, char *out, size_t cap)
{
    static const char    bad[] = "\xef\xbf\xbd"; /* U+FFFD */
    const char          *slash = strrchr(path, '/');
    const unsigned char *p;
    size_t               n, k, o = 0;

    p = (const unsigned char *) (slash != NULL ? slash + 1 : path);
    n = strlen((const char *) p);
    while (n > 0) {
        k = gw_utf8_seq_len(p, n);
        if (o + (k > 0 ? k : sizeof(bad) - 1) >= cap) {
            break;
        }
        if (k > 0) {
            memcpy(out + o, p, k);
            o += k;
        } else {
            memcpy(out + o, bad, sizeof(bad) - 1);
            o += sizeof(bad) - 1;
            k = 1;
        }
        p += k, n -= k;
    }
    out[o] = '\0';
}

/*
 * The run of these inputs: GW_OK with run->reused when it is done, else
 * a fresh 'loading' row (an interrupted earlier attempt is purged).
 */
static int
fin_recon_begin(struct gw_db *db, struct gw_arena *a, const char *key,
                const char *day, const char *path, const char *actor,
                struct fin_recon_run *run)
{
    MYSQL_ROW row;
    char      base[FIN_RECON_NAME_BYTES];
    int       rc;

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
    fin_recon_file_name(path, base, sizeof(base));
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

/* Reads the file once against the loaded partition of the day. */
static int
fin_recon_pass(const char *path, const char *sha1, struct fin_recon_load *l,
               struct fin_recon_parse *ps)
{
    char sha[65];

    memset(ps, 0, sizeof(*ps));
    ps->on_record = fin_recon_on_record;
    ps->ctx = l;
    if (fin_recon_read(path, ps, sha) != GW_OK) {
        return GW_EINVAL;
    }
    if (strcmp(sha, sha1) != 0) {
        fin_recon_fatal(ps, "%s changed while it was read", path);
        return GW_EINVAL;
    }
    return fin_recon_not_billed(l);
}

/*
 * Matches the file against the day: per partition of the day's CDRs (one
 * unless the day has more than [finance] recon_memory_cdrs), load it into
 * memory and read the file probing it; then classify the staged records that
 * are no CDR of the day.
 */
static int
fin_recon_load_run(struct gw_db *db, struct gw_arena *a, const char *path,
                   const char *day, const char *sha1, struct fin_recon_load *l,
                   int64_t part_cdrs, const char **why)
{
    static __thread char   whybuf[160];
    struct fin_recon_parse ps;
    MYSQL_ROW              row;
    int64_t                n = 0;
    int                    rc;

    memset(&ps, 0, sizeof(ps));
    rc = gw_db_row(db, a, &row,
                   "SELECT COUNT(*) FROM cdrs WHERE business_day = %s", day);
    if (rc == GW_OK && row != NULL) {
        n = gw_db_col_i64(row, 0);
    }
    l->day.nparts = (uint64_t) ((n + part_cdrs - 1) / part_cdrs + (n == 0));
    l->not_billed_seq = -n;
    for (l->day.part = 0; rc == GW_OK && l->day.part < l->day.nparts;
         l->day.part++) {
        rc = fin_recon_day_load(db, day, &l->day);
        if (rc == GW_OK) {
            rc = fin_recon_pass(path, sha1, l, &ps);
        }
    }
    fin_recon_day_free(&l->day);
    if (rc == GW_OK) {
        rc = fin_recon_flush(l, 1);
    }
    if (rc == GW_OK) {
        rc = fin_recon_classify(db, l->run_id);
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
        /* Closed only now that the file is usable: a stored run stays
         * true because a closed day's CDRs never change. */
        rc = fin_days_close(db, a, cfg, day, day, actor);
    }
    if (rc == GW_OK) {
        rc = fin_recon_begin(db, a, key, run->day, path, actor, run);
    }
    if (rc != GW_OK || run->reused) {
        return rc;
    }
    l.run_id = run->id;
    rc = fin_recon_load_run(db, a, path, run->day, run->file_sha256, &l,
                            cfg->finance.recon_memory_cdrs, why);
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
    int        rc;

    *next_before = 0;
    rc = gw_db_query(db, a, &res,
                     "SELECT " FIN_RECON_RUN_COLS " FROM recon_runs WHERE"
                     " state = 'done' AND id < %lld ORDER BY id DESC LIMIT %d",
                     (long long) (before_id > 0 ? before_id : INT64_MAX),
                     limit + 1);
    if (rc != GW_OK) {
        return rc;
    }
    return fin_page_build(a, res, limit, fin_recon_json, items, next_before);
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
