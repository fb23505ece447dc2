/*
 * bill_internal.h — helpers shared by the billing files; not for callers
 * outside billing/.
 */
#ifndef BILL_INTERNAL_H
#define BILL_INTERNAL_H

#include "bill.h"
#include "gw_assert.h"
#include "gw_stmt.h"

/* The legs of one ledger transaction, seen from the subscriber. */
struct bill_legs {
    const char *kind; /* ledger_txns.kind */
    int64_t     subscriber_id;
    int64_t     account_id; /* the subscriber's account */
    int64_t     amount;     /* gross, > 0 */
    int         sign;       /* -1: subscriber pays; +1: receives */
    int64_t     provider_id;
    int64_t     provider_share; /* parts of amount, unsigned */
    int64_t     carrier_share;
    int         funding; /* top-up: the other leg is funding */
    int64_t     corrects_txn_id;
    int64_t     hold_id;
    const char *reference;
    int64_t     item_id; /* for the CDR */
    const char *sku;
    int64_t     purchase_id;    /* for the CDR, 0 if none */
    int64_t     lobby_start_id; /* for the CDR (captures), 0 if none */
    const char *notify_user;    /* warnings go to (NULL: the subscriber) */
    int         refund_bucket;  /* a refund: 1 + the charge's bucket */
    int         topup;          /* a top-up: its reference row (GW_ECONFLICT) */
};

/* The revenue/funding bucket of a subscriber. */
int bill_bucket(int64_t subscriber_id);

/*
 * Writes the ledger transaction, the CDR (charges and refunds), a
 * top-up's reference row (legs->topup; GW_ECONFLICT with the first top-up
 * of that reference in res), the postings and, last, the counter-accounts'
 * balances (the subscriber's balance was already moved by the caller's
 * conditional UPDATE). Fills res (txn id, balance after, CDR id, parts).
 * warn_amount > 0: queue the cap/low-balance warnings this debit crossed.
 */
int bill_legs_post(struct gw_db *db, struct gw_arena *a,
                   const struct bill_ctx *ctx, const struct bill_legs *legs,
                   int64_t warn_amount, struct bill_result *res) GW_MUST_CHECK;

/* The carrier business day "YYYY-MM-DD" of now into out[16]. */
void bill_business_day(const struct gw_config *cfg, char *out);

/*
 * Credits (amount > 0) or debits the subscriber's account without limits
 * (top-ups, refunds, captures' settlement are done by their callers) and
 * remembers the new balance for bill_legs_post. Sets *account_id;
 * GW_ENOTFOUND when the subscriber has no account.
 */
int bill_credit(struct gw_db *db, int64_t subscriber_id, int64_t amount,
                int64_t *account_id) GW_MUST_CHECK;

/* Maps a debit that matched no row (vas_debit, migrations/032) to the
 * reason (suspended, funds, cap), or GW_ERETRY. */
int bill_debit_refused(struct gw_db *db, struct gw_arena *a,
                       int64_t subscriber_id, int64_t amount, int day,
                       int month);

#endif /* BILL_INTERNAL_H */
