/*
 * fin_cdr.c — CDR export v2 (docs/cdr-format.md) and the close of ended
 * business days.
 *
 * Streaming: a day is read in keyset batches (business_day, id > last)
 * over ix_cdrs_day, each batch written out and freed before the next, so
 * vasctl and the gateway hold at most FIN_BATCH_ROWS rows whatever the
 * day's size. Deterministic: rows in id order, no time of export in the
 * CSV (generated_at is only in the manifest).
 */
#include <csv.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fin.h"
#include "fin_internal.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_status.h"
#include "gw_util.h"

#define FIN_CDR_NCOLS   18
#define FIN_FLUSH_BYTES (64 * 1024)

static const char *const fin_cdr_columns[FIN_CDR_NCOLS] = {
    "cdr_id",        "kind",        "business_day",
    "status",        "created_at",  "msisdn",
    "im_user_id",    "purchase_id", "lobby_start_id",
    "item_id",       "sku",         "provider_id",
    "amount",        "currency",    "provider_share",
    "carrier_share", "txn_id",      "reference",
};

/* 1: text, neutralised and quoted; 0: an integer we formatted ourselves. */
static const unsigned char fin_cdr_text[FIN_CDR_NCOLS] = {
    1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1,
};

/*
 * The SELECT's columns, in CSV order but for status (computed here). The
 * server sends DATE and DATETIME(3) as text already ("2026-11-28",
 * "2026-11-28 08:00:00.123"); created_at becomes RFC 3339 here
 * (fin_cdr_time), not by DATE_FORMAT per row on the server.
 */
#define FIN_CDR_SELECT                                                         \
    "SELECT cdr_id, kind, business_day, created_at, msisdn, im_user_id,"       \
    " purchase_id, lobby_start_id, item_id, sku, provider_id, amount,"         \
    " currency, provider_share, carrier_share, txn_id, reference, id FROM"     \
    " cdrs WHERE business_day = %s AND id > %lld ORDER BY id LIMIT %d"

#define FIN_CDR_TIME_LEN 23 /* "YYYY-MM-DD HH:MM:SS.mmm" */

/* "YYYY-MM-DD HH:MM:SS.mmm" -> "YYYY-MM-DDTHH:MM:SS.mmmZ" into out. */
static const char *
fin_cdr_time(const char *v, char out[FIN_CDR_TIME_LEN + 2])
{
    if (v == NULL || strlen(v) != FIN_CDR_TIME_LEN || v[10] != ' ') {
        return v; /* not a DATETIME(3): as it is (the column says it is) */
    }
    memcpy(out, v, FIN_CDR_TIME_LEN);
    out[10] = 'T';
    out[FIN_CDR_TIME_LEN] = 'Z';
    out[FIN_CDR_TIME_LEN + 1] = '\0';
    return out;
}

int
fin_csv_cell(struct gw_buf *out, const char *v, int text, int last)
{
    char   quoted[2 * (FIN_CELL_MAX + 1) + 3];
    char   cell[FIN_CELL_MAX + 2];
    size_t n;

    if (v == NULL) {
        v = "";
    }
    n = strlen(v);
    if (n > FIN_CELL_MAX) {
        return GW_EINVAL;
    }
    if (text) {
        /* OWASP CSV injection: a cell a spreadsheet would evaluate starts
         * with an apostrophe instead; the value is quoted either way. */
        if (n > 0 && strchr("=+-@\t\r", v[0]) != NULL) {
            cell[0] = '\'';
            memcpy(cell + 1, v, n);
            n++;
            v = cell;
        }
        n = csv_write(quoted, sizeof(quoted), v, n);
        v = quoted;
    }
    if (gw_buf_append(out, v, n) != 0
        || gw_buf_append(out, last ? "\r\n" : ",", last ? 2 : 1) != 0) {
        return GW_ERROR;
    }
    return GW_OK;
}

int
fin_days_close(struct gw_db *db, struct gw_arena *a,
               const struct gw_config *cfg, int64_t from, int64_t to,
               const char *actor)
{
    int64_t today = fin_day_today(cfg);
    char    d1[11], d2[11];

    (void) a;
    if (to >= today) {
        to = today - 1;
    }
    if (from > to) {
        return GW_OK;
    }
    fin_day_format(from, d1);
    fin_day_format(to, d2);
    /* Autocommit: its own transaction, committed before any row is read.
     * Waits for CDR writers of these days still in flight (their trigger's
     * gap lock), so the export that follows sees all of them. */
    return gw_db_exec(db,
                      "INSERT IGNORE INTO cdr_days (day, closed_at, closed_by)"
                      " WITH RECURSIVE d(x) AS (SELECT DATE(%s) UNION ALL"
                      " SELECT x + INTERVAL 1 DAY FROM d WHERE x < %s)"
                      " SELECT x, UTC_TIMESTAMP(3), %s FROM d",
                      d1, d2, actor);
}

/* Output state of one export. */
struct fin_out {
    fin_sink_fn       sink;
    void             *ctx;
    struct gw_buf     buf;  /* pending bytes */
    struct gw_buf     line; /* one row */
    EVP_MD_CTX       *all;  /* every byte written (ranges; NULL: one day) */
    EVP_MD_CTX       *day;  /* this day's CSV (header + its rows) */
    int               failed;
    struct fin_items *items; /* the day's per-item sums (closed days) */
};

static int
fin_out_flush(struct fin_out *o)
{
    if (o->buf.len > 0 && !o->failed
        && o->sink(o->ctx, o->buf.data, o->buf.len) != 0) {
        o->failed = 1;
    }
    o->buf.len = 0;
    return o->failed ? GW_ERROR : GW_OK;
}

/* Queues bytes for the sink and the hashes (day hash optional). */
static int
fin_out_put(struct fin_out *o, const char *p, size_t n, int to_sink)
{
    EVP_DigestUpdate(o->day, p, n);
    if (!to_sink) {
        return GW_OK;
    }
    if (o->all != NULL) {
        EVP_DigestUpdate(o->all, p, n);
    }
    if (gw_buf_append(&o->buf, p, n) != 0) {
        return GW_ERROR;
    }
    return o->buf.len >= FIN_FLUSH_BYTES ? fin_out_flush(o) : GW_OK;
}

static int
fin_out_header(struct fin_out *o, int to_sink)
{
    int i, rc = GW_OK;

    o->line.len = 0;
    for (i = 0; i < FIN_CDR_NCOLS && rc == GW_OK; i++) {
        rc = fin_csv_cell(&o->line, fin_cdr_columns[i], 0,
                          i + 1 == FIN_CDR_NCOLS);
    }
    return rc == GW_OK ? fin_out_put(o, o->line.data, o->line.len, to_sink)
                       : rc;
}

static void
fin_digest_hex(EVP_MD_CTX *md, char out[65])
{
    unsigned char h[32];
    unsigned int  n = 0;

    EVP_DigestFinal_ex(md, h, &n);
    gw_hex_encode(h, 32, out);
}

/*
 * Per-item sums of a closed day for its cdr_day_items rows (top-items
 * report), added up while the day streams out instead of a second scan
 * of the day on the server. Open addressing on item_id (0: no item); a
 * day with more than FIN_DAY_ITEMS_MAX items overflows and is summed by
 * the server after all (fin_cdr_day_items).
 */
struct fin_item_sum {
    uint64_t key; /* item_id + 1; 0: empty slot */
    int64_t  rows, charges, refunds, pshare, cshare;
};

struct fin_items {
    struct fin_item_sum *slot;
    size_t               mask, n;
    int                  overflow;
};

static struct fin_item_sum *
fin_items_slot(struct fin_item_sum *slot, size_t mask, uint64_t key)
{
    size_t i = (size_t) (key * 0x9e3779b97f4a7c15ULL >> 20) & mask;

    while (slot[i].key != 0 && slot[i].key != key) {
        i = (i + 1) & mask;
    }
    return &slot[i];
}

/* Doubles the table (16 slots first); 0, or -1 out of memory. */
static int
fin_items_grow(struct fin_items *it)
{
    size_t               cap = it->slot ? 2 * (it->mask + 1) : 16, i;
    struct fin_item_sum *slot, *d;

    if ((slot = calloc(cap, sizeof(*slot))) == NULL) {
        return -1;
    }
    for (i = 0; it->slot != NULL && i <= it->mask; i++) {
        if (it->slot[i].key != 0) {
            d = fin_items_slot(slot, cap - 1, it->slot[i].key);
            *d = it->slot[i];
        }
    }
    free(it->slot);
    it->slot = slot;
    it->mask = cap - 1;
    return 0;
}

static void
fin_items_add(struct fin_items *it, MYSQL_ROW row, int64_t amount)
{
    struct fin_item_sum *e;
    uint64_t             key = (uint64_t) gw_db_col_i64(row, 8) + 1;

    if (it->overflow) {
        return;
    }
    if ((it->slot == NULL || 2 * (it->n + 1) > it->mask + 1)
        && fin_items_grow(it) != 0) {
        it->overflow = 1;
        return;
    }
    e = fin_items_slot(it->slot, it->mask, key);
    if (e->key == 0 && it->n == FIN_DAY_ITEMS_MAX) {
        it->overflow = 1; /* summed by the server instead */
        return;
    }
    if (e->key == 0) {
        e->key = key;
        it->n++;
    }
    e->rows++;
    e->charges += amount > 0 ? amount : 0;
    e->refunds += amount < 0 ? -amount : 0;
    e->pshare += gw_db_col_i64(row, 13);
    e->cshare += gw_db_col_i64(row, 14);
}

static void
fin_items_free(struct fin_items *it)
{
    free(it->slot);
    memset(it, 0, sizeof(*it));
}

/* One CDR row; adds it to the day's and the export's stats. */
static int
fin_out_row(struct fin_out *o, MYSQL_ROW row, const char *status,
            struct fin_export_stats *ds)
{
    int     i, rc = GW_OK;
    int64_t amount = gw_db_col_i64(row, 11);
    char    when[FIN_CDR_TIME_LEN + 2];

    o->line.len = 0;
    for (i = 0; i < FIN_CDR_NCOLS && rc == GW_OK; i++) {
        /* CSV column i; the SELECT has no status column (i == 3). */
        const char *v = i == 3 ? status : row[i < 3 ? i : i - 1];
        if (i == 4) {
            v = fin_cdr_time(v, when);
        }
        rc = fin_csv_cell(&o->line, v, fin_cdr_text[i], i + 1 == FIN_CDR_NCOLS);
    }
    if (rc != GW_OK) {
        return rc;
    }
    ds->rows++;
    ds->amount_total += amount;
    if (amount >= 0) {
        ds->charges += amount;
    } else {
        ds->refunds -= amount;
    }
    ds->provider_share += gw_db_col_i64(row, 13);
    ds->carrier_share += gw_db_col_i64(row, 14);
    if (o->items != NULL) {
        fin_items_add(o->items, row, amount);
    }
    return fin_out_put(o, o->line.data, o->line.len, 1);
}

/* Streams one day's rows in keyset batches. */
static int
fin_cdr_day_rows(struct gw_db *db, struct fin_out *o, const char *day,
                 const char *status, struct fin_export_stats *ds)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int64_t    last = 0, n;
    int        rc;

    do {
        rc = gw_db_query(db, NULL, &res, FIN_CDR_SELECT, day, (long long) last,
                         FIN_BATCH_ROWS);
        if (rc != GW_OK) {
            return rc;
        }
        n = 0;
        while (rc == GW_OK && (row = mysql_fetch_row(res)) != NULL) {
            rc = fin_out_row(o, row, status, ds);
            last = gw_db_col_i64(row, 17);
            n++;
        }
        mysql_free_result(res);
    } while (rc == GW_OK && n == FIN_BATCH_ROWS);
    return rc;
}

/* The day's per-item rows from the sums of the export, in one statement
 * (at most FIN_DAY_ITEMS_MAX rows of ~60 bytes: under max_allowed_packet). */
static int
fin_cdr_items_insert(struct gw_db *db, const char *day,
                     const struct fin_items *it)
{
    struct gw_buf q = {0};
    size_t        i;
    int           rc, n = 0;

    rc = fin_sql_add(db, &q,
                     "INSERT IGNORE INTO cdr_day_items (day, item_id,"
                     " rows_total, charges, refunds, provider_share,"
                     " carrier_share) VALUES ");
    for (i = 0; i <= it->mask && rc == GW_OK; i++) {
        const struct fin_item_sum *e = &it->slot[i];
        if (e->key == 0) {
            continue;
        }
        if (n++ > 0) {
            gw_buf_appends(&q, ", ");
        }
        rc =
            fin_sql_add(db, &q, "(%s, %llu, %lld, %lld, %lld, %lld, %lld)", day,
                        (unsigned long long) (e->key - 1), (long long) e->rows,
                        (long long) e->charges, (long long) e->refunds,
                        (long long) e->pshare, (long long) e->cshare);
    }
    if (rc == GW_OK) {
        rc = fin_sql_run(db, &q);
    }
    gw_buf_free(&q);
    return rc;
}

/*
 * The per-item summary of a closed day (top-items report), once: from the
 * sums of the export that just streamed the day, or, when they overflowed,
 * summed by the server. The latter reads the whole day, so it may outlast a
 * gateway's read timeout on a huge day: then it is logged and left to the
 * next export (vasctl's batch timeout).
 */
static void
fin_cdr_day_items(struct gw_db *db, const char *day, const struct fin_items *it)
{
    MYSQL_RES *res;
    int        rc, have;

    rc = gw_db_query(db, NULL, &res,
                     "SELECT 1 FROM cdr_day_items WHERE day = %s LIMIT 1", day);
    if (rc != GW_OK) {
        return;
    }
    have = mysql_fetch_row(res) != NULL;
    mysql_free_result(res);
    if (have) {
        return;
    }
    if (!it->overflow && it->n > 0) {
        rc = fin_cdr_items_insert(db, day, it);
    } else {
        rc = gw_db_exec(db,
                        "INSERT IGNORE INTO cdr_day_items (day, item_id,"
                        " rows_total, charges, refunds, provider_share,"
                        " carrier_share) SELECT business_day,"
                        " COALESCE(item_id, 0), COUNT(*),"
                        " SUM(GREATEST(amount, 0)), SUM(GREATEST(-amount, 0)),"
                        " SUM(provider_share), SUM(carrier_share) FROM cdrs"
                        " WHERE business_day = %s GROUP BY business_day,"
                        " COALESCE(item_id, 0)",
                        day);
    }
    if (rc != GW_OK) {
        gw_log_error(db->rid, "per-item summary of %s not written yet", day);
    }
}

/* A closed day's first export records its totals; later ones must agree. */
static int
fin_cdr_day_record(struct gw_db *db, const char *day, const char *known_sha,
                   const struct fin_export_stats *ds, const char *sha,
                   const struct fin_items *items)
{
    int rc = GW_OK;

    if (known_sha[0] != '\0' && strcmp(known_sha, sha) != 0) {
        gw_log_error(db->rid, "closed day %s exports differently now", day);
    }
    if (known_sha[0] == '\0') {
        rc = gw_db_exec(db,
                        "UPDATE cdr_days SET rows_total = %lld, amount_total"
                        " = %lld, charges = %lld, refunds = %lld,"
                        " provider_share = %lld, carrier_share = %lld,"
                        " csv_sha256 = %s WHERE day = %s AND rows_total IS"
                        " NULL",
                        (long long) ds->rows, (long long) ds->amount_total,
                        (long long) ds->charges, (long long) ds->refunds,
                        (long long) ds->provider_share,
                        (long long) ds->carrier_share, sha, day);
    }
    if (rc == GW_OK && ds->rows > 0) {
        fin_cdr_day_items(db, day, items);
    }
    return rc;
}

/* Whether day is closed, and the hash its first export recorded. */
static int
fin_cdr_day_closed(struct gw_db *db, const char *day, int *closed,
                   char known_sha[65])
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int        rc;

    /* No arena: a range of days must not pile up one cleanup per day. */
    rc = gw_db_query(db, NULL, &res,
                     "SELECT COALESCE(csv_sha256, '') FROM cdr_days WHERE"
                     " day = %s",
                     day);
    if (rc != GW_OK) {
        return rc;
    }
    row = mysql_fetch_row(res);
    *closed = row != NULL;
    known_sha[0] = '\0';
    if (row != NULL && row[0] != NULL && strlen(row[0]) == 64) {
        memcpy(known_sha, row[0], 65);
    }
    mysql_free_result(res);
    return GW_OK;
}

static int
fin_cdr_day(struct gw_db *db, struct fin_out *o, int64_t d, int first,
            struct fin_export_stats *st)
{
    struct fin_export_stats ds = {0};
    struct fin_items        items = {0};
    char                    day[11], sha[65], known[65];
    int                     rc, closed;

    fin_day_format(d, day);
    rc = fin_cdr_day_closed(db, day, &closed, known);
    if (rc != GW_OK) {
        return rc;
    }
    EVP_DigestInit_ex(o->day, EVP_sha256(), NULL);
    o->items = closed ? &items : NULL;
    rc = fin_out_header(o, first);
    if (rc == GW_OK) {
        rc =
            fin_cdr_day_rows(db, o, day, closed ? "final" : "provisional", &ds);
    }
    o->items = NULL;
    if (rc != GW_OK) {
        fin_items_free(&items);
        return rc;
    }
    fin_digest_hex(o->day, sha);
    if (o->all == NULL) {
        memcpy(st->sha256, sha, sizeof(sha));
    }
    st->rows += ds.rows;
    st->amount_total += ds.amount_total;
    st->charges += ds.charges;
    st->refunds += ds.refunds;
    st->provider_share += ds.provider_share;
    st->carrier_share += ds.carrier_share;
    if (!closed) {
        st->final = 0;
        return GW_OK;
    }
    rc = fin_cdr_day_record(db, day, known, &ds, sha, &items);
    fin_items_free(&items);
    return rc;
}

int
fin_cdr_export(struct gw_db *db, struct gw_arena *a,
               const struct gw_config *cfg, int64_t from, int64_t to,
               fin_sink_fn sink, void *ctx, struct fin_export_stats *st)
{
    struct fin_out o = {.sink = sink, .ctx = ctx};
    int64_t        d;
    int            rc = GW_OK;

    (void) cfg;
    (void) a;
    memset(st, 0, sizeof(*st));
    st->final = 1;
    /* One day: its own hash is the file's (hashing 200 MB once, not twice). */
    o.all = from < to ? EVP_MD_CTX_new() : NULL;
    o.day = EVP_MD_CTX_new();
    if ((from < to && o.all == NULL) || o.day == NULL) {
        rc = GW_ERROR;
        goto done;
    }
    if (o.all != NULL) {
        EVP_DigestInit_ex(o.all, EVP_sha256(), NULL);
    }
    for (d = from; d <= to && rc == GW_OK; d++) {
        rc = fin_cdr_day(db, &o, d, d == from, st);
    }
    if (rc == GW_OK) {
        rc = fin_out_flush(&o);
    }
    if (rc == GW_OK && o.all != NULL) {
        fin_digest_hex(o.all, st->sha256);
    }
done:
    EVP_MD_CTX_free(o.all);
    EVP_MD_CTX_free(o.day);
    gw_buf_free(&o.buf);
    gw_buf_free(&o.line);
    return rc;
}

cJSON *
fin_cdr_manifest(struct gw_arena *a, const struct gw_config *cfg, int64_t day,
                 const char *file, const struct fin_export_stats *st)
{
    cJSON *m = gw_json_own(a, cJSON_CreateObject());
    char   d[11], now[32];

    if (m == NULL) {
        return NULL;
    }
    fin_day_format(day, d);
    gw_time_rfc3339(gw_now_s(), now, sizeof(now));
    cJSON_AddStringToObject(m, "day", d);
    cJSON_AddStringToObject(m, "status", st->final ? "final" : "provisional");
    cJSON_AddStringToObject(m, "file", file);
    cJSON_AddNumberToObject(m, "rows", (double) st->rows);
    cJSON_AddNumberToObject(m, "amount_total", (double) st->amount_total);
    cJSON_AddNumberToObject(m, "charges", (double) st->charges);
    cJSON_AddNumberToObject(m, "refunds", (double) st->refunds);
    cJSON_AddStringToObject(m, "currency", cfg->billing.currency);
    cJSON_AddStringToObject(m, "sha256", st->sha256);
    cJSON_AddStringToObject(m, "format", "cdr-v2");
    cJSON_AddStringToObject(m, "generated_at", now);
    return m;
}
