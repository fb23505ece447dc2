/*
 * cat_audit.c — the store's invariants (DESIGN.md), checked over the whole
 * database by `vasctl audit` after the ledger checks, and the janitor's
 * popularity refresh. Each check is one set-based query (joins and grouped
 * derived tables, never a subquery per purchase) that returns only the
 * violating rows.
 */
#include <stdio.h>

#include "cat.h"
#include "gw_check.h"
#include "gw_status.h"

static const struct gw_check cat_checks[] = {
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
    /* The outbox is grouped once by (user, purchase id) and joined: one
     * pass over each table, not a JSON scan of the user's outbox per
     * purchase (quadratic for a heavy user). */
    {"purchase without exactly one purchase.completed outbox row:"
     " purchase_id rows",
     "SELECT p.id, COALESCE(o.n, 0) FROM purchases p LEFT JOIN"
     " (SELECT user_id, CAST(JSON_VALUE(payload, '$.purchase_id') AS"
     " UNSIGNED) AS pid, COUNT(*) AS n FROM outbox"
     " WHERE type = 'purchase.completed' GROUP BY user_id, pid) o"
     " ON o.pid = p.id AND o.user_id = p.buyer_user_id"
     " WHERE COALESCE(o.n, 0) <> 1"},
    {"refunds not matching the purchase: purchase_id refunded sum amount",
     "SELECT p.id, p.refunded, COALESCE(r.s, 0), p.amount FROM purchases p"
     " LEFT JOIN (SELECT purchase_id, SUM(amount) AS s FROM refunds"
     " GROUP BY purchase_id) r ON r.purchase_id = p.id"
     " WHERE p.refunded <> COALESCE(r.s, 0) OR p.refunded > p.amount"},
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

#define CAT_AUDIT_NCHECKS  (sizeof(cat_checks) / sizeof(cat_checks[0]))
#define CAT_AUDIT_SHOW_MAX 50

const struct gw_check *
cat_audit_checks(size_t *n)
{
    *n = CAT_AUDIT_NCHECKS;
    return cat_checks;
}

int
cat_audit_run(struct gw_db *db, FILE *out)
{
    size_t k;
    long   n = 0, total = 0;
    int    lost;

    if (gw_db_connect(db) != GW_OK) {
        fprintf(out, "store audit: cannot connect to MariaDB\n");
        return -1;
    }
    for (k = 0; k < CAT_AUDIT_NCHECKS; k++) {
        n = gw_check_run(db, &cat_checks[k], out, CAT_AUDIT_SHOW_MAX, &lost);
        if (n < 0) {
            break;
        }
        fprintf(out, "%-4s store: %s\n", n ? "FAIL" : "ok", cat_checks[k].name);
        total += n;
    }
    return n < 0 ? -1 : (int) total;
}

int
cat_popularity_refresh(struct gw_db *db, struct gw_arena *a, int64_t batch,
                       int64_t *folded)
{
    MYSQL_ROW row;
    int64_t   mark, hi;
    int       rc;

    *folded = 0;
    if ((rc = gw_db_begin(db)) != GW_OK) {
        return rc;
    }
    /* The row lock also keeps two janitors (two hosts) from folding one
     * range twice. */
    rc = gw_db_row(db, a, &row,
                   "SELECT j.mark, (SELECT COALESCE(MAX(id), 0) FROM"
                   " purchases) FROM catalog_jobs j WHERE j.name ="
                   " 'popularity' FOR UPDATE");
    if (rc != GW_OK || row == NULL) {
        gw_db_rollback(db);
        return rc != GW_OK ? rc : GW_ERROR; /* migration 012 makes the row */
    }
    mark = gw_db_col_i64(row, 0);
    hi = gw_db_col_i64(row, 1);
    if (hi > mark + batch) {
        hi = mark + batch;
    }
    if (hi <= mark) {
        gw_db_rollback(db);
        return GW_OK;
    }
    rc = gw_db_exec(db,
                    "UPDATE items i JOIN (SELECT item_id, COUNT(*) n FROM"
                    " purchases WHERE id > %lld AND id <= %lld GROUP BY"
                    " item_id) p ON p.item_id = i.id SET i.popularity ="
                    " i.popularity + p.n",
                    (long long) mark, (long long) hi);
    if (rc == GW_OK) {
        rc = gw_db_exec(db,
                        "UPDATE catalog_jobs SET mark = %lld, updated_at ="
                        " UTC_TIMESTAMP(3) WHERE name = 'popularity'",
                        (long long) hi);
    }
    if (rc == GW_OK) {
        rc = gw_db_commit(db);
    } else {
        gw_db_rollback(db);
    }
    if (rc == GW_OK) {
        *folded = hi - mark;
    }
    return rc;
}
