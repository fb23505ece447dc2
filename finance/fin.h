/*
 * fin.h — finance: CDR export v2 and the close of business days,
 * reconciliation with the carrier's billed-records file, provider
 * statements, operator look-ups and the revenue reports. No HTTP here:
 * vasctl (ctl/ctl_finance.c) and the admin handlers (services/svc_finance.c)
 * call these with their own output sinks.
 *
 * Batch and streaming: every function that reads an unbounded number of
 * rows (a day of CDRs, a carrier file) reads them in keyset batches of
 * FIN_BATCH_ROWS and writes them out through a sink as it goes, so memory
 * stays bounded whatever the size (docs/cdr-format.md,
 * docs/reconciliation.md).
 *
 * Days are the carrier's business days (UTC + billing.day_offset_min),
 * carried as days since 1970-01-01. A day that has ended is closed by its
 * first export (a cdr_days row, final); a closed day's CDRs never change
 * (migration 009's triggers move a late CDR to the next open day).
 *
 * Errors: GW_EINVAL (bad input; *why says what, for the caller to show),
 * GW_ENOTFOUND, GW_ECONFLICT, database errors (logged where they happen).
 * Thread-safety: reentrant; the db belongs to the caller's thread.
 */
#ifndef FIN_H
#define FIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "gw_arena.h"
#include "gw_config.h"
#include "gw_db.h"

#define FIN_BATCH_ROWS       5000  /* CDRs read per keyset batch */
#define FIN_EXPORT_DAYS_MAX  366   /* days in one export or report */
#define FIN_DAY_ITEMS_MAX    50000 /* items a day's export sums itself */
#define FIN_CELL_MAX         256   /* bytes of one CSV cell (columns' max) */
#define FIN_RECON_RECORD_MAX 4096  /* bytes of one carrier record */
#define FIN_RECON_FIELD_MAX  64    /* bytes of one carrier field */
#define FIN_RECON_BATCH_ROWS 2000  /* carrier records per INSERT */
#define FIN_RECON_LINES_MAX  4000000000LL /* lines of a carrier file */
#define FIN_RECON_REPORT_MAX 1000         /* malformed lines kept in detail */
#define FIN_PAGE_MAX         100
#define FIN_PAGE_DEFAULT     20
#define FIN_QUERY_MAX        64 /* subscriber search text */

/* A byte sink: 0 or -1 (the output is gone). */
typedef int (*fin_sink_fn)(void *ctx, const void *p, size_t n);

/* ---- days (fin_day.c) ---- */

/*
 * Strict YYYY-MM-DD of a real calendar day (2026-02-31 is refused) into
 * days since 1970-01-01. GW_OK or GW_EINVAL.
 */
int fin_day_parse(const char *s, int64_t *day);

/* YYYY-MM (month 01..12) into year and month. GW_OK or GW_EINVAL. */
int fin_month_parse(const char *s, int *year, int *month);

/* Day number → "YYYY-MM-DD" into out[11]. */
void fin_day_format(int64_t day, char out[11]);

/* The current business day (UTC + billing.day_offset_min). */
int64_t fin_day_today(const struct gw_config *cfg);

/*
 * Parses a from..to range of days (both required, from <= to, at most
 * FIN_EXPORT_DAYS_MAX days). GW_OK or GW_EINVAL with *why.
 */
int fin_range_parse(const char *from, const char *to, int64_t *d_from,
                    int64_t *d_to, const char **why);

/* ---- CDR export v2 and day close (fin_cdr.c) ---- */

/* What an export of days wrote (per call; one day when per_day). */
struct fin_export_stats {
    int64_t rows;
    int64_t amount_total; /* signed sum */
    int64_t charges;      /* sum of positive amounts */
    int64_t refunds;      /* sum of -amount of negative ones */
    int64_t provider_share;
    int64_t carrier_share;
    char    sha256[65]; /* of the bytes written (one-day exports) */
    int     final;      /* every day exported was closed */
};

/*
 * Closes every day of from..to that has ended (before today): inserts its
 * cdr_days row in a transaction of its own. Days already closed stay as
 * they are. actor is recorded ("vasctl", "a:<key id>").
 */
int fin_days_close(struct gw_db *db, struct gw_arena *a,
                   const struct gw_config *cfg, int64_t from, int64_t to,
                   const char *actor);

/*
 * Streams the CSV (header, then each day's CDRs in id order) of from..to
 * to sink, in keyset batches. Rows of days before today are "final", the
 * others "provisional". Deterministic: the same closed days give the same
 * bytes. Fills st (sha256 only when from == to). The first export of a
 * closed day records its totals and hash in cdr_days.
 */
int fin_cdr_export(struct gw_db *db, struct gw_arena *a,
                   const struct gw_config *cfg, int64_t from, int64_t to,
                   fin_sink_fn sink, void *ctx, struct fin_export_stats *st);

/*
 * The manifest of one exported day as a JSON object (arena-owned):
 * day, status, rows, amount_total, currency, sha256, file, generated_at.
 */
cJSON *fin_cdr_manifest(struct gw_arena *a, const struct gw_config *cfg,
                        int64_t day, const char *file,
                        const struct fin_export_stats *st);

/*
 * Writes one CSV cell: text cells are quoted (libcsv) and a value that a
 * spreadsheet would run as a formula (=, +, -, @, TAB, CR first) gets a
 * leading apostrophe (OWASP CSV injection); numeric cells are written as
 * they are. last ends the row with CRLF. GW_OK, GW_EINVAL (cell longer
 * than FIN_CELL_MAX) or GW_ERROR.
 */
int fin_csv_cell(struct gw_buf *out, const char *v, int text, int last);

/* ---- reports for the console (fin_report.c) ---- */

/* Export status per day of from..to: {"items":[{day,status,rows,…}]}. */
int fin_report_days(struct gw_db *db, struct gw_arena *a,
                    const struct gw_config *cfg, int64_t from, int64_t to,
                    cJSON **out);

/* Revenue per business day (closed days from cdr_days, open ones live). */
int fin_report_revenue(struct gw_db *db, struct gw_arena *a,
                       const struct gw_config *cfg, int64_t from, int64_t to,
                       cJSON **out);

/* Items by net revenue over from..to, at most limit. */
int fin_report_top_items(struct gw_db *db, struct gw_arena *a,
                         const struct gw_config *cfg, int64_t from, int64_t to,
                         int limit, cJSON **out);

/* ---- reconciliation (fin_recon.c) ---- */

enum fin_recon_class {
    FIN_RC_MATCHED,
    FIN_RC_MISMATCH,    /* amount mismatch */
    FIN_RC_NOT_BILLED,  /* charged but not billed */
    FIN_RC_UNKNOWN,     /* billed but unknown to us */
    FIN_RC_TWICE,       /* billed twice */
    FIN_RC_UNDELIVERED, /* charged (and billed) but never delivered */
    FIN_RC_MALFORMED,   /* a line of the file that could not be read */
    FIN_RC_COUNT
};

/* Stable names ("matched", "amount_mismatch", …), indexed by the enum. */
extern const char *const fin_recon_class_names[FIN_RC_COUNT];

struct fin_recon_run {
    int64_t id;
    char    day[11];
    char    file_sha256[65];
    int64_t lines;
    int64_t count[FIN_RC_COUNT];
    int64_t amount[FIN_RC_COUNT];
    int     reused; /* the same inputs were reconciled before */
};

/* Progress callback (records read so far); may be NULL. */
typedef void (*fin_progress_fn)(void *ctx, int64_t lines, int done);

/*
 * Reconciles the carrier file at path against business day `day`:
 * streams it (libcsv), closes the day (fin_days_close), stores the run,
 * fills run. The same file for the same day is the same run (run->reused,
 * nothing stored again). A file that cannot be used at all (missing, wrong
 * header, a record over FIN_RECON_RECORD_MAX) is GW_EINVAL with *why, and
 * nothing is stored, nor the day closed;
 * a bad line is counted as malformed with its line number and the run
 * goes on.
 */
int fin_recon_run(struct gw_db *db, struct gw_arena *a,
                  const struct gw_config *cfg, const char *path, int64_t day,
                  const char *actor, fin_progress_fn progress, void *pctx,
                  struct fin_recon_run *run, const char **why);

/* Streams a run's detail (every record not matched) as CSV to sink. */
int fin_recon_report(struct gw_db *db, int64_t run_id, fin_sink_fn sink,
                     void *ctx);

/* Runs newest first (keyset by id; before_id 0 = from the newest). */
int fin_recon_list(struct gw_db *db, struct gw_arena *a, int64_t before_id,
                   int limit, cJSON **items, int64_t *next_before);

/* One run with its class counts and amounts; GW_ENOTFOUND. */
int fin_recon_get(struct gw_db *db, struct gw_arena *a, int64_t id,
                  cJSON **out);

/* 1 when p[0..n) is well-formed UTF-8 (no overlong, surrogate, > U+10FFFF)
 * without NUL. */
int fin_utf8_valid(const void *p, size_t n);

/* ---- provider statements (fin_statement.c) ---- */

struct fin_statement_totals {
    int64_t charges, gross, refunds, net, provider_share, carrier_share;
};

/*
 * Streams the statement of provider for a month (business time) as CSV:
 * one row per item, then a total row; computed from postings. Refunds
 * count in the month they were booked. Fills tot.
 */
int fin_statement_run(struct gw_db *db, struct gw_arena *a,
                      const struct gw_config *cfg, int64_t provider_id,
                      int year, int month, fin_sink_fn sink, void *ctx,
                      struct fin_statement_totals *tot);

/* ---- operator look-ups (fin_lookup.c) ---- */

/*
 * Subscribers whose MSISDN starts with q (digits) or whose IM user id is
 * q, by id (keyset: after_id). Items are JSON objects.
 */
int fin_subscribers_search(struct gw_db *db, struct gw_arena *a, const char *q,
                           int64_t after_id, int limit, cJSON **items,
                           int64_t *next_after);

/* A subscriber's purchases (with refunds), newest first (before_id). */
int fin_subscriber_purchases(struct gw_db *db, struct gw_arena *a,
                             const char *msisdn, int64_t before_id, int limit,
                             cJSON **items, int64_t *next_before);

/* Admin keys (never their hash) as a JSON array. */
int fin_admin_keys_list(struct gw_db *db, struct gw_arena *a, cJSON **items);

/*
 * Revokes an admin key; GW_ENOTFOUND, GW_ECONFLICT if already revoked or,
 * with keep_one, if it is the only active key (*last = 1): the HTTP API
 * never leaves the carrier without an admin key (vasctl, the operator's
 * way in on the host, may: a leaked last key must go at once).
 */
int fin_admin_key_revoke(struct gw_db *db, int64_t id, int keep_one, int *last);

/* Records the first download of an entitlement's format (idempotent). */
int fin_download_record(struct gw_db *db, int64_t entitlement_id,
                        const char *format);

#endif /* FIN_H */
