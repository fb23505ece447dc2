/*
 * bill_audit.c — the ledger invariants of DESIGN.md, checked over the whole
 * database. Each check is one query that returns the offending rows, so a
 * clean ledger returns nothing and a violation names its ids. Each is
 * set-based: the checks that read every posting are index-only scans of
 * migration 016's covering indexes, in the order they group by.
 */
#include <stdio.h>
#include <string.h>

#include "bill.h"
#include "gw_check.h"
#include "gw_status.h"

static const struct gw_check bill_checks[] = {
    {"postings of a transaction must sum to zero",
     "SELECT CONCAT('txn ', txn_id, ': sum ', SUM(amount)) FROM postings"
     " GROUP BY txn_id HAVING SUM(amount) <> 0"},
    {"every ledger transaction has postings",
     "SELECT CONCAT('txn ', t.id, ' (', t.kind, ')') FROM ledger_txns t"
     " LEFT JOIN postings p ON p.txn_id = t.id WHERE p.id IS NULL"},
    /* Transactions: one anti-join probe per posting in ix_postings_txn_cover
     * order (index-only on both sides). Accounts: the few distinct accounts
     * of the postings (a loose index scan), their postings only when one is
     * missing (each posting named once: the first half has those of a
     * missing transaction); not two probes per posting. */
    {"postings only reference existing transactions and accounts",
     "SELECT CONCAT('posting ', p.id) FROM postings p LEFT JOIN ledger_txns t"
     " ON t.id = p.txn_id WHERE t.id IS NULL UNION ALL SELECT"
     " CONCAT('posting ', p.id) FROM (SELECT account_id FROM postings GROUP"
     " BY account_id) x LEFT JOIN accounts a ON a.id = x.account_id JOIN"
     " postings p ON p.account_id = x.account_id WHERE a.id IS NULL AND"
     " EXISTS (SELECT 1 FROM ledger_txns t WHERE t.id = p.txn_id)"},
    /* Each account's postings read from ix_postings_account_cover (index
     * only), grouped in account order: no temporary table of every
     * posting, as a derived SUM ... GROUP BY joined to accounts had. */
    {"account balance equals the sum of its postings",
     "SELECT CONCAT('account ', a.id, ' (', a.kind, ' ', a.owner_id, '/',"
     " a.bucket, '): balance ', a.balance, ' <> postings ',"
     " COALESCE(SUM(p.amount), 0)) FROM accounts a LEFT JOIN postings p"
     " ON p.account_id = a.id GROUP BY a.id"
     " HAVING MAX(a.balance) <> COALESCE(SUM(p.amount), 0)"},
    {"no prepaid balance below zero",
     "SELECT CONCAT('account ', id, ' (subscriber ', owner_id, '): balance ',"
     " balance) FROM accounts WHERE kind = 'subscriber' AND plan ="
     " 'prepaid' AND balance < 0"},
    {"no postpaid balance below -credit limit",
     "SELECT CONCAT('account ', id, ' (subscriber ', owner_id, '): balance ',"
     " balance, ' limit ', credit_limit) FROM accounts WHERE kind ="
     " 'subscriber' AND plan = 'postpaid' AND balance < -credit_limit"},
    {"held equals the sum of pending holds",
     "SELECT CONCAT('account ', a.id, ': held ', a.held, ' <> pending ',"
     " COALESCE(h.s, 0)) FROM accounts a LEFT JOIN (SELECT account_id,"
     " SUM(amount) s FROM holds WHERE state = 'pending' GROUP BY"
     " account_id) h ON h.account_id = a.id WHERE a.held <> COALESCE(h.s, 0)"},
    {"available funds never below the floor (holds included)",
     "SELECT CONCAT('account ', id, ': balance ', balance, ' held ', held)"
     " FROM accounts WHERE kind = 'subscriber' AND held > 0 AND"
     " balance - held < -credit_limit"},
    {"revenue split adds up to the amount",
     "SELECT CONCAT('txn ', id) FROM ledger_txns WHERE provider_share +"
     " carrier_share <> amount AND kind IN ('charge', 'capture', 'refund')"},
    {"refunds never exceed the charge and match the refund transactions",
     "SELECT CONCAT('txn ', c.id, ': charged ', c.amount, ' refunded ',"
     " c.refunded, ' refund txns ', COALESCE(r.s, 0)) FROM ledger_txns c"
     " LEFT JOIN (SELECT corrects_txn_id, SUM(amount) s FROM ledger_txns"
     " WHERE kind = 'refund' GROUP BY corrects_txn_id) r ON"
     " r.corrects_txn_id = c.id WHERE c.kind IN ('charge', 'capture') AND"
     " (c.refunded > c.amount OR c.refunded <> COALESCE(r.s, 0))"},
    {"every refund points at a charge",
     "SELECT CONCAT('txn ', r.id) FROM ledger_txns r LEFT JOIN ledger_txns c"
     " ON c.id = r.corrects_txn_id AND c.kind IN ('charge', 'capture')"
     " WHERE r.kind = 'refund' AND c.id IS NULL"},
    {"every charge and refund has exactly one CDR with its amount",
     "SELECT CONCAT('txn ', t.id, ' (', t.kind, '): ', COUNT(c.id),"
     " ' CDRs') FROM ledger_txns t LEFT JOIN cdrs c ON c.txn_id = t.id"
     " WHERE t.kind IN ('charge', 'capture', 'refund') GROUP BY t.id"
     " HAVING COUNT(c.id) <> 1 OR SUM(ABS(c.amount)) <> MAX(t.amount)"},
    {"captured holds have their capture transaction",
     "SELECT CONCAT('hold ', h.id) FROM holds h LEFT JOIN ledger_txns t ON"
     " t.id = h.capture_txn_id WHERE h.state = 'captured' AND h.captured"
     " > 0 AND (t.id IS NULL OR t.amount <> h.captured)"},
};

#define BILL_AUDIT_NCHECKS  (sizeof(bill_checks) / sizeof(bill_checks[0]))
#define BILL_AUDIT_SHOW_MAX 50

const struct gw_check *
bill_audit_checks(size_t *n)
{
    *n = BILL_AUDIT_NCHECKS;
    return bill_checks;
}

int
bill_audit_run(struct gw_db *db, FILE *out)
{
    size_t i;
    long   n = 0, violations = 0;
    int    lost;

    if (gw_db_connect(db) != GW_OK) {
        fprintf(out, "audit: cannot connect to MariaDB\n");
        return -1;
    }
    /* One consistent snapshot for all checks. */
    if (gw_db_exec(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT") != GW_OK) {
        return -1;
    }
    for (i = 0; i < BILL_AUDIT_NCHECKS; i++) {
        n = gw_check_run(db, &bill_checks[i], out, BILL_AUDIT_SHOW_MAX, &lost);
        if (n < 0) {
            break;
        }
        fprintf(out, "%-4s %s\n", n ? "FAIL" : "ok", bill_checks[i].name);
        violations += n;
    }
    gw_db_exec(db, "COMMIT");
    return n < 0 ? -1 : (int) violations;
}
