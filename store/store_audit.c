/*
 * store_audit.c — the store's invariants (DESIGN.md): every completed
 * purchase has exactly one entitlement, one CDR and one outbox row, and
 * refunds agree with purchases and the ledger. `vasctl audit` runs them
 * after the ledger's, in the same snapshot (ctl/ctl_audit.c). Each check
 * is one set-based query (joins and grouped derived tables, never a
 * subquery per purchase) that returns only the violating rows.
 */
#include "gw_check.h"
#include "store.h"

static const struct gw_check store_checks[] = {
    {"purchase without its entitlement: purchase_id entitlement_id",
     "SELECT p.id, p.entitlement_id FROM purchases p LEFT JOIN entitlements e"
     " ON e.id = p.entitlement_id WHERE e.id IS NULL"},
    /* The CDR must name the purchase too: refunds of a charge find its
     * purchase through it. */
    {"purchase whose charge has not exactly one CDR: purchase_id txn_id cdrs",
     "SELECT p.id, p.charge_txn_id, COUNT(c.id) FROM purchases p"
     " LEFT JOIN cdrs c ON c.txn_id = p.charge_txn_id AND c.kind = 'charge'"
     " AND c.purchase_id = p.id"
     " WHERE p.amount > 0 GROUP BY p.id, p.charge_txn_id"
     " HAVING COUNT(c.id) <> 1"},
    {"purchase whose charge txn is missing or differs: purchase_id txn_id",
     "SELECT p.id, p.charge_txn_id FROM purchases p LEFT JOIN ledger_txns t"
     " ON t.id = p.charge_txn_id WHERE p.amount > 0 AND (t.id IS NULL"
     " OR t.kind <> 'charge' OR t.amount <> p.amount"
     " OR t.refunded <> p.refunded)"},
    /* The outbox is grouped once by (user, purchase id) and joined: one
     * pass over each table, not a JSON scan of the user's outbox per
     * purchase (quadratic for a heavy user). MariaDB's split-materialized
     * optimization turned the derived table back into that scan (LATERAL
     * DERIVED per purchase) when outbox's statistics were stale after a
     * burst of purchases by few buyers: the check ran > 190 s on the test
     * stack at 29k purchases / 190k outbox rows, 1.0 s with it off. */
    {"purchase without exactly one purchase.completed outbox row:"
     " purchase_id rows",
     "SET STATEMENT optimizer_switch = 'split_materialized=off' FOR"
     " SELECT p.id, COALESCE(o.n, 0) FROM purchases p LEFT JOIN"
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
    /* The entitlement's latest purchase is its highest purchase id
     * (ix_purchases_entitlement, one entry per entitlement). */
    {"fully refunded ringtone still entitled: purchase_id entitlement_id",
     "SELECT p.id, e.id FROM (SELECT entitlement_id, MAX(id) AS id FROM"
     " purchases GROUP BY entitlement_id) l JOIN purchases p ON p.id = l.id"
     " JOIN entitlements e ON e.id = l.entitlement_id"
     " WHERE p.status = 'refunded'"
     " AND e.kind = 'permanent' AND e.status = 'active'"},
};

#define STORE_AUDIT_NCHECKS (sizeof(store_checks) / sizeof(store_checks[0]))

const struct gw_check *
store_audit_checks(size_t *n)
{
    *n = STORE_AUDIT_NCHECKS;
    return store_checks;
}
