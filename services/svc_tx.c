/*
 * svc_tx.c — begin, body, commit; retry on deadlock.
 */
#include <time.h>

#include "gw_db.h"
#include "gw_idem.h"
#include "gw_log.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "svc_tx.h"

int
svc_tx_run(struct gw_request *r, svc_tx_body_pt body, void *arg)
{
    struct gw_db   *db = &r->thr->db;
    struct timespec pause = {0, 2 * 1000000L};
    int             attempt, rc = GW_ERROR;

    for (attempt = 1; attempt <= SVC_TX_ATTEMPTS_MAX; attempt++) {
        rc = gw_db_begin(db);
        if (rc != GW_OK) {
            return rc;
        }
        /* A TXKEY route's Idempotency-Key is the transaction's first
         * statement (gw_idem.h); a replay ends the transaction here. */
        rc = r->idem_txn ? gw_idem_claim(r) : GW_OK;
        if (rc == GW_OK) {
            rc = body(r, arg);
        }
        if (rc == GW_OK) {
            rc = gw_db_commit(db);
        } else {
            gw_db_rollback(db);
        }
        if (rc != GW_ERETRY) {
            return rc;
        }
        gw_log_info(r->request_id, "deadlock, attempt %d: retrying", attempt);
        /* Reset the reply a failed attempt may have started. */
        r->status = 0;
        r->reply_body = NULL;
        r->reply_len = 0;
        pause.tv_nsec = (long) attempt * 2 * 1000000L;
        nanosleep(&pause, NULL);
    }
    return rc;
}
