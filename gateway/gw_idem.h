/*
 * gw_idem.h — Idempotency-Key plumbing for money-moving POSTs.
 *
 * Protocol (API.md, Stripe's model), per caller scope and key:
 *   1. gw_idem_begin() takes a MariaDB named lock GET_LOCK(scope+key, 0) on
 *      the thread's connection. Not granted → another request with this key
 *      is in flight → 409 idempotency_in_progress. Then it reads the stored
 *      record: same request hash → the stored reply is replayed
 *      (Idempotent-Replayed: true); another hash → 422.
 *   2. The handler runs its one transaction and, inside it, calls
 *      gw_idem_save() with the reply it is about to send; the record
 *      commits or rolls back with the money movement itself.
 *   3. gw_idem_end() releases the lock.
 * The lock belongs to the connection: when a worker is killed, or a COMMIT
 * fails with an unknown outcome (we then drop the connection), the server
 * releases it, and the retry finds either the committed record (replay) or
 * nothing (a fresh attempt) — never a second charge.
 *
 * Only successful replies are recorded: an error changes nothing, so
 * retrying the same key after an error runs the request again.
 *
 * The lock and the lookup are one typed statement (one round trip). The
 * lookup may read just before the lock is granted; the record's primary
 * key closes that gap: a request that missed a record committed in
 * between fails at gw_idem_record (GW_EIDEM_BUSY, 409) and rolls back, and
 * its retry replays. The connection's named locks are gw_idem's alone, so
 * COMMIT releases them all in its own round trip.
 *
 * vasctl uses the same protocol through gw_idem_lock/record/unlock with
 * its own scopes ("vasctl:topup", "vasctl:refund").
 *
 * Routes whose work is one transaction (GW_ROUTE_IDEM_TXN: purchases,
 * top-ups, refunds) take no named lock. gw_idem_begin only checks the key;
 * svc_tx_run then makes gw_idem_claim the transaction's first statement:
 * an INSERT of the record with status 0. Its primary key is the lock: a
 * second request with the key waits on it (at most GW_IDEM_WAIT_S) until
 * the first commits (duplicate key: its reply is replayed, or 422 for
 * another body) or rolls back or is killed (the insert goes through: it
 * runs). Still in flight after the wait: 409 idempotency_in_progress.
 * gw_idem_save then writes the reply into the claimed row. The claim dies
 * with the transaction, so a kill -9 or a lost connection never leaves a
 * key locked, and nothing is held between two statements outside it.
 */
#ifndef GW_IDEM_H
#define GW_IDEM_H

#include "gw_assert.h"
#include "gw_db.h"
#include "gw_request.h"

/* Returned by gw_idem_begin when the stored reply was loaded into r. */
#define GW_IDEM_REPLAYED 1

/*
 * Checks the key (1..255 printable ASCII), locks it and looks it up.
 * GW_OK (go on), GW_IDEM_REPLAYED, GW_EIDEM_BUSY, GW_EIDEM_REUSED or a
 * database status.
 */
int gw_idem_begin(struct gw_request *r);

/* Records the reply inside the caller's open transaction. */
int gw_idem_save(struct gw_request *r, int status, const char *body);

/*
 * TXKEY routes: claims r's key as the first statement of the open
 * transaction. GW_OK (go on), GW_IDEM_REPLAYED (the stored reply is in r;
 * roll back), GW_EIDEM_REUSED, GW_EIDEM_BUSY or a database status.
 */
int gw_idem_claim(struct gw_request *r) GW_MUST_CHECK;

/* Releases the lock (safe to call when none is held). */
void gw_idem_end(struct gw_request *r);

/* A stored record (strings in the arena); req_hash NULL when none. */
struct gw_idem_rec {
    const char *req_hash;
    int         status;
    const char *body;
};

/*
 * Locks (scope, key) on db's connection and reads its record: GW_OK (the
 * lock is held until the next COMMIT or gw_idem_unlock) or GW_EIDEM_BUSY.
 */
int gw_idem_lock(struct gw_db *db, struct gw_arena *a, const char *scope,
                 const char *key, struct gw_idem_rec *rec) GW_MUST_CHECK;

/* Records the reply inside the open transaction (GW_EIDEM_BUSY: a
 * record appeared meanwhile; roll back, the retry replays it). */
int gw_idem_record(struct gw_db *db, const char *scope, const char *key,
                   const char *req_hash, int status,
                   const char *body) GW_MUST_CHECK;

/* Releases the lock now (outside a transaction). */
void gw_idem_unlock(struct gw_db *db);

#endif /* GW_IDEM_H */
