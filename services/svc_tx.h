/*
 * svc_tx.h — run one request's work as one MariaDB transaction.
 *
 * svc_tx_run() begins a transaction on the request's connection, calls
 * body(r, arg), and commits when it returns GW_OK; any error rolls back,
 * so nothing of a failed request stays. Deadlocks and lock-wait timeouts
 * (GW_ERETRY) re-run the whole body a bounded number of times. A COMMIT
 * whose outcome is unknown returns GW_EOUTCOME (503): the client retries
 * with the same Idempotency-Key and gw_idem settles it.
 *
 * On a TXKEY route (gw_idem.h) each attempt first claims the request's
 * Idempotency-Key in the transaction: a stored reply ends it with
 * GW_IDEM_REPLAYED (the reply is loaded into r; the handler returns it).
 */
#ifndef SVC_TX_H
#define SVC_TX_H

struct gw_request;

#define SVC_TX_ATTEMPTS_MAX 4

typedef int (*svc_tx_body_pt)(struct gw_request *r, void *arg);

int svc_tx_run(struct gw_request *r, svc_tx_body_pt body, void *arg);

#endif /* SVC_TX_H */
