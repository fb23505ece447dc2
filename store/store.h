/*
 * store.h — the store: purchases, entitlements, passes, refunds and the
 * library (docs/store.md). It sits above the peers (billing/ for money,
 * catalog/ for items) and below finance/, services/ and ctl/: HTTP
 * handlers and vasctl parse, call these entry points and render; no
 * caller writes the store's tables itself.
 *
 * Transactions: functions named *_apply run INSIDE the caller's open
 * transaction (gw_db_begin … gw_db_commit, svc_tx_run), so the caller can
 * record its idempotency reply in the same transaction; on any error the
 * caller rolls back and nothing happened. Other functions read outside a
 * transaction.
 *
 * Errors: GW_OK or a gw_status; when a request is refused for a reason
 * the user should read (not found, already owned, suspended, price
 * changed…), ctx->detail holds the problem's detail text. Every SQL value
 * travels as a typed bind (gw_stmt.h).
 *
 * Thread-safety: reentrant; the ctx (and its db) belong to one thread.
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>

#include "bill.h"
#include "cat.h"
#include "gw_arena.h"
#include "gw_assert.h"
#include "gw_config.h"
#include "gw_db.h"
#include "gw_stmt.h"

#define STORE_DETAIL_MAX   160
#define STORE_PAGE_MAX     100 /* library and purchases pages */
#define STORE_EXPIRES_MAX  32
#define STORE_META_POLL_MS 250 /* other hosts see a revocation within */
/* store_meta rows the entitlement epoch is spread over (migration 018):
 * concurrent full refunds bump different rows instead of queueing on one. */
#define STORE_EPOCH_BUCKETS 64

/* Who acts, on which connection: one per request or command. */
struct store_ctx {
    struct gw_db           *db;
    struct gw_arena        *a;
    const struct gw_config *cfg;
    const char             *actor; /* "u:<user>", "a:<key id>", "vasctl:…" */
    const char             *rid;   /* request id for logs, or NULL */
    char                    detail[STORE_DETAIL_MAX]; /* why refused */
    int64_t                 price; /* GW_EPRICE: the current price */
};

/* Fills ctx (detail cleared). */
void store_ctx_init(struct store_ctx *ctx, struct gw_db *db, struct gw_arena *a,
                    const struct gw_config *cfg, const char *actor,
                    const char *rid);

/* ---- Purchases (store_buy.c) ---------------------------------------- */

struct store_buy {
    /* in */
    const char *buyer; /* IM user id of the caller */
    int64_t     item_id;
    const char *format;  /* NULL: the default (games: none) */
    const char *gift_to; /* NULL: for the buyer */
    int         has_expected;
    int64_t     expected_price;
    /* read by store_buy_prepare */
    struct bill_subscriber sub;
    struct cat_item        item;
    int64_t                cat_gen;   /* the generation item was read at */
    int                    cat_stale; /* the catalog moved: read it again */
    const char            *recipient;
    int                    gift, pass;
    /* written by store_buy_apply */
    int64_t now_ms;
    int64_t purchase_id, entitlement_id, balance_after, charge_txn_id;
    char    expires_at[STORE_EXPIRES_MAX]; /* passes, RFC 3339 */
};

/*
 * Reads and checks everything a purchase needs that reveals nothing
 * about anyone but the buyer (the buyer's account and status, the item,
 * its format and price). In the purchase's transaction, before
 * store_buy_apply (re-run on each attempt). GW_ENOTFOUND (no phone
 * account / no item), GW_EINVAL, GW_EPRICE (ctx->price), GW_ESUSPENDED.
 * The item comes from the catalog's per-process cache for the current
 * catalog generation; store_buy_apply checks that generation under a
 * locking read before it commits, so the price charged is the one in
 * force (GW_ERETRY after a change: the retry, prepare then apply again,
 * reads the generation and the item again).
 */
int store_buy_prepare(struct store_ctx *ctx, struct store_buy *b) GW_MUST_CHECK;

/*
 * The purchase, inside the caller's transaction: entitlement, charge
 * (ledger, CDR with purchase_id, warnings), purchase row with its own pass
 * period, outbox rows and the provider's webhook. Gifts charge first and
 * only then look at the recipient, so a gift that cannot be paid says
 * nothing about the recipient. GW_EOWNED, GW_EFUNDS, GW_ECAP,
 * GW_ESUSPENDED, GW_ENOTFOUND (gift recipient), GW_ERETRY.
 */
int store_buy_apply(struct store_ctx *ctx, struct store_buy *b) GW_MUST_CHECK;

/* ---- Refunds (store_refund.c) --------------------------------------- */

struct store_refund {
    /* in: purchase_id, or charge_txn_id (vasctl: any charge txn) */
    int64_t     purchase_id;
    int64_t     charge_txn_id;
    int64_t     amount; /* 0: all that is left */
    const char *reason;
    /* out */
    int64_t            refund_id; /* 0: not a purchase (ledger refund) */
    int                full;
    int                revoked; /* the entitlement was revoked */
    const char        *currency;
    struct bill_result res;
};

/*
 * Refunds all or part of a purchase (purchase_id) or of any charge
 * (charge_txn_id: a purchase's charge is refunded as that purchase, so
 * the entitlement and the user follow the money; other charges and
 * captures are plain ledger refunds). Inside the caller's transaction.
 * A full refund revokes a ringtone and takes back what is left of the
 * pass period this purchase paid for (never a later one).
 * GW_ENOTFOUND, GW_ECONFLICT (nothing to refund / above what is left).
 */
int store_refund_apply(struct store_ctx    *ctx,
                       struct store_refund *f) GW_MUST_CHECK;

/* After the COMMIT of a refund that revoked (f->revoked): this host's
 * cached download targets drop it at once (others within
 * STORE_META_POLL_MS). */
void store_refund_committed(struct store_ctx *ctx);

/* The refund's JSON object (also the HTTP reply and the payload). */
const char *store_refund_json(struct store_ctx          *ctx,
                              const struct store_refund *f);

/* ---- Library, purchases, downloads (store_library.c) ---------------- */

/*
 * One page of the user's entitlements (library) or purchases, newest
 * first, keyset-paged by id (after_id 0: first page); at most limit+1
 * rows so the caller knows whether there is a next page. Rows: the
 * library's columns below (STORE_LIB_ITEM_COL), STORE_PURCHASE_COLS
 * (store_library.c).
 */
int store_library_page(struct store_ctx *ctx, const char *user,
                       int64_t after_id, int64_t limit,
                       struct gw_rows *rows) GW_MUST_CHECK;
int store_purchases_page(struct store_ctx *ctx, const char *user,
                         int64_t after_id, int64_t limit,
                         struct gw_rows *rows) GW_MUST_CHECK;

/* Library row columns: id, status, expired (0/1), granted_at,
 * expires_at, kind, then the item's id and version (the key of its
 * rendered object, cat_items_fragments, with the catalog generation of
 * STORE_LIBRARY_GEN_COL). */
#define STORE_LIB_ITEM_COL        6
#define STORE_LIBRARY_VERSION_COL 7
#define STORE_LIBRARY_BOUND_COL   8 /* 1: the owner has a subscriber row */
#define STORE_LIBRARY_GEN_COL     9 /* the same in every row */

/* Purchase row columns (store_purchase_get too). */
enum store_purchase_col {
    STORE_P_ID,
    STORE_P_STATUS,
    STORE_P_ITEM,
    STORE_P_FORMAT,
    STORE_P_AMOUNT,
    STORE_P_CURRENCY,
    STORE_P_REFUNDED,
    STORE_P_BALANCE_AFTER,
    STORE_P_ENTITLEMENT,
    STORE_P_RECIPIENT,
    STORE_P_BUYER,
    STORE_P_CREATED,
    STORE_P_NCOLS
};

/* One purchase of buyer (row) and its refunds (id, amount, reason,
 * created_at). GW_ENOTFOUND for another user's purchase. */
int store_purchase_get(struct store_ctx *ctx, const char *buyer, int64_t id,
                       MYSQL_ROW *row, struct gw_rows *refunds) GW_MUST_CHECK;

/*
 * May user make a download link for (entitlement, format)? GW_OK with
 * *format set to the canonical format; GW_ENOTFOUND, GW_EREVOKED,
 * GW_EEXPIRED, GW_EINVAL (no such format), GW_ESUSPENDED (the user's
 * phone account is suspended).
 */
int store_link_check(struct store_ctx *ctx, const char *user,
                     int64_t entitlement_id, const char *format,
                     const char **canonical) GW_MUST_CHECK;

/* What a signed link leads to: the asset of an active entitlement. */
struct store_download {
    const char *path, *mime, *sku;
};

/*
 * The asset behind a verified link, read through the process cache:
 * only active entitlements are cached (so a re-buy after a refund works
 * at once), keyed by the entitlement epoch that full refunds move
 * (store_meta, not the catalog's generation). GW_ENOTFOUND, GW_EREVOKED.
 */
int store_download_find(struct store_ctx *ctx, int64_t entitlement_id,
                        const char            *format,
                        struct store_download *out) GW_MUST_CHECK;

/* Maps the shared entitlement-epoch block; once, before forking. */
int store_init(void);

/*
 * The store's audit checks (static table, n set to its length): purchases
 * against entitlements, CDRs, the ledger and the outbox. `vasctl audit`
 * runs them after bill_audit_checks in one snapshot.
 */
struct gw_check;
const struct gw_check *store_audit_checks(size_t *n);

#endif /* STORE_H */
