/*
 * gw_outbox.h — the transactional outbox (DESIGN.md, "Redis contract").
 *
 * An event that involves money is written as an outbox row in the same
 * MariaDB transaction as the money movement; the relay role later copies
 * it to Redis. Call gw_outbox_add() inside the caller's open transaction.
 * Notification ids are 32 hex chars: 12 of millisecond time (so they sort
 * by creation) + 20 random; consumers de-duplicate on them.
 */
#ifndef GW_OUTBOX_H
#define GW_OUTBOX_H

#include <stdint.h>

struct gw_db;

#define GW_NOTIF_ID_LEN 32

/* A fresh notification id into out[GW_NOTIF_ID_LEN + 1]. */
void gw_outbox_id_new(char *out);

/*
 * (A typed statement, gw_stmt.h, in the caller's transaction.)
 * Queues a notification for IM user user_id: type (e.g.
 * "purchase.completed") and payload_json (a JSON object text). When id_out
 * is not NULL it receives the notification id. GW_OK or a db status.
 */
int gw_outbox_add(struct gw_db *db, const char *user_id, const char *type,
                  const char *payload_json, char *id_out);

/*
 * Queues a webhook event for a content provider (delivered by the relay
 * role, never on the request path), inside the caller's transaction, if
 * the provider has a webhook URL (else nothing is written: GW_OK, and
 * id_out, when not NULL, receives "").
 */
int gw_outbox_webhook_add(struct gw_db *db, int64_t provider_id,
                          const char *type, const char *payload_json,
                          char *id_out);

#endif /* GW_OUTBOX_H */
