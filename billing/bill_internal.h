/*
 * bill_internal.h — helpers shared by the billing files; not for callers
 * outside billing/.
 */
#ifndef BILL_INTERNAL_H
#define BILL_INTERNAL_H

#include "bill.h"

/* The legs of one ledger transaction, seen from the subscriber. */
struct bill_legs {
    const char *kind;             /* ledger_txns.kind */
    int64_t     subscriber_id;
    int64_t     account_id;       /* the subscriber's account */
    int64_t     amount;           /* gross, > 0 */
    int         sign;             /* -1: subscriber pays; +1: receives */
    int64_t     provider_id;
    int64_t     provider_share;   /* parts of amount, unsigned */
    int64_t     carrier_share;
    int         funding;          /* top-up: the other leg is funding */
    int64_t     corrects_txn_id;
    int64_t     hold_id;
    const char *reference;
    const char *currency;
};

/* The revenue/funding bucket of a subscriber. */
int bill_bucket(int64_t subscriber_id);

/*
 * Writes the ledger transaction, moves the counter-accounts' balances and
 * appends the postings (the subscriber's balance was already moved by the
 * caller's conditional UPDATE). Sets *txn_id.
 */
int bill_legs_post(struct gw_db *db, const struct bill_ctx *ctx,
                   const struct bill_legs *legs, int64_t *txn_id);

/* Appends the CDR of a charge (amount > 0) or refund (amount < 0). */
int bill_cdr_add(struct gw_db *db, const struct bill_ctx *ctx,
                 const char *kind, int64_t txn_id,
                 const struct bill_legs *legs, int64_t item_id,
                 const char *sku, char *cdr_id);

/* The carrier business day "YYYY-MM-DD" of now into out[16]. */
void bill_business_day(const struct gw_config *cfg, char *out);

/* Maps a failed conditional debit to the reason (suspended, funds, cap). */
int bill_debit_refused(struct gw_db *db, struct gw_arena *a,
                       int64_t subscriber_id, int64_t amount, int day,
                       int month);

/*
 * Reads the subscriber's account after a debit and queues the cap (80%)
 * and low-balance warnings when this debit crossed them.
 */
int bill_after_debit(struct gw_db *db, struct gw_arena *a,
                     const struct bill_ctx *ctx, int64_t subscriber_id,
                     int64_t amount, int64_t *account_id,
                     int64_t *balance_after, const char **currency);

#endif /* BILL_INTERNAL_H */
