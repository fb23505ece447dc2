/*
 * cat_audit.c — the store's invariants (DESIGN.md), checked over the whole
 * database by `vasctl audit` after the ledger checks. Each check is one
 * query that returns only the violating rows.
 */
#include <stdio.h>

#include "cat.h"
#include "gw_status.h"

struct cat_check {
    const char *what; /* printed before the row's columns */
    const char *sql;  /* no arguments: a literal statement */
};

static const struct cat_check cat_checks[] = {
    {"purchase without its entitlement: purchase_id entitlement_id",
     "SELECT p.id, p.entitlement_id FROM purchases p LEFT JOIN entitlements e"
     " ON e.id = p.entitlement_id WHERE e.id IS NULL"},
    {"purchase whose charge has not exactly one CDR: purchase_id txn_id cdrs",
     "SELECT p.id, p.charge_txn_id, COUNT(c.id) FROM purchases p"
     " LEFT JOIN cdrs c ON c.txn_id = p.charge_txn_id AND c.kind = 'charge'"
     " WHERE p.amount > 0 GROUP BY p.id, p.charge_txn_id"
     " HAVING COUNT(c.id) <> 1"},
    {"purchase whose charge txn is missing or differs: purchase_id txn_id",
     "SELECT p.id, p.charge_txn_id FROM purchases p LEFT JOIN ledger_txns t"
     " ON t.id = p.charge_txn_id WHERE p.amount > 0 AND (t.id IS NULL"
     " OR t.kind <> 'charge' OR t.amount <> p.amount"
     " OR t.refunded <> p.refunded)"},
    {"purchase without exactly one purchase.completed outbox row:"
     " purchase_id rows",
     "SELECT p.id, (SELECT COUNT(*) FROM outbox o WHERE"
     " o.user_id = p.buyer_user_id AND o.type = 'purchase.completed'"
     " AND JSON_VALUE(o.payload, '$.purchase_id') = p.id) AS n"
     " FROM purchases p HAVING n <> 1"},
    {"refunds not matching the purchase: purchase_id refunded sum amount",
     "SELECT p.id, p.refunded, COALESCE(SUM(r.amount), 0), p.amount"
     " FROM purchases p LEFT JOIN refunds r ON r.purchase_id = p.id"
     " GROUP BY p.id, p.refunded, p.amount"
     " HAVING p.refunded <> COALESCE(SUM(r.amount), 0)"
     " OR p.refunded > p.amount"},
    {"purchase status inconsistent with refunds: purchase_id status refunded",
     "SELECT id, status, refunded FROM purchases WHERE"
     " (status = 'completed' AND refunded <> 0)"
     " OR (status = 'refunded' AND refunded <> amount)"
     " OR (status = 'partially_refunded'"
     " AND (refunded = 0 OR refunded >= amount))"},
    {"refund without its ledger refund txn: refund_id txn_id",
     "SELECT r.id, r.txn_id FROM refunds r JOIN purchases p"
     " ON p.id = r.purchase_id LEFT JOIN ledger_txns t ON t.id = r.txn_id"
     " WHERE t.id IS NULL OR t.kind <> 'refund'"
     " OR t.corrects_txn_id <> p.charge_txn_id OR t.amount <> r.amount"},
    {"fully refunded ringtone still entitled: purchase_id entitlement_id",
     "SELECT p.id, e.id FROM purchases p JOIN entitlements e"
     " ON e.id = p.entitlement_id WHERE p.status = 'refunded'"
     " AND e.kind = 'permanent' AND e.status = 'active'"
     " AND e.purchase_id = p.id"},
};

int
cat_audit_run(struct gw_db *db, FILE *out)
{
    struct gw_arena a;
    MYSQL_RES      *res;
    MYSQL_ROW       row;
    size_t          k;
    unsigned        c, ncols;
    int             n = 0, rc = GW_OK;

    if (gw_arena_init(&a) != 0) {
        return -1;
    }
    for (k = 0; k < sizeof(cat_checks) / sizeof(cat_checks[0]); k++) {
        rc = gw_db_query(db, &a, &res, cat_checks[k].sql, 0);
        if (rc != GW_OK) {
            fprintf(out, "store audit: check failed: %s\n", cat_checks[k].what);
            break;
        }
        ncols = mysql_num_fields(res);
        while ((row = mysql_fetch_row(res)) != NULL) {
            fprintf(out, "store: %s:", cat_checks[k].what);
            for (c = 0; c < ncols; c++) {
                fprintf(out, " %s", row[c] ? row[c] : "NULL");
            }
            fputc('\n', out);
            n++;
        }
        gw_arena_reset(&a);
    }
    gw_arena_fini(&a);
    return rc == GW_OK ? n : -1;
}

int
cat_popularity_refresh(struct gw_db *db, struct gw_arena *a, int64_t *watermark)
{
    MYSQL_ROW row;
    int64_t   top;
    int       rc;

    rc = gw_db_row(db, a, &row, "SELECT COALESCE(MAX(id), 0) FROM purchases");
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ERROR;
    }
    top = gw_db_col_i64(row, 0);
    if (*watermark == 0) {
        rc = gw_db_exec(db,
                        "UPDATE items i LEFT JOIN (SELECT item_id, COUNT(*) n"
                        " FROM purchases WHERE id <= %lld GROUP BY item_id) p"
                        " ON p.item_id = i.id SET i.popularity ="
                        " COALESCE(p.n, 0) WHERE i.popularity <>"
                        " COALESCE(p.n, 0)",
                        (long long) top);
    } else if (top > *watermark) {
        rc = gw_db_exec(db,
                        "UPDATE items i JOIN (SELECT item_id, COUNT(*) n FROM"
                        " purchases WHERE id > %lld AND id <= %lld GROUP BY"
                        " item_id) p ON p.item_id = i.id SET i.popularity ="
                        " i.popularity + p.n",
                        (long long) *watermark, (long long) top);
    }
    if (rc == GW_OK) {
        *watermark = top;
    }
    return rc;
}
