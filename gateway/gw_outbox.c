/*
 * gw_outbox.c — outbox rows.
 */
#include <stdio.h>
#include <string.h>

#include "gw_db.h"
#include "gw_outbox.h"
#include "gw_stmt.h"
#include "gw_status.h"
#include "gw_util.h"

void
gw_outbox_id_new(char *out)
{
    unsigned char rnd[10];
    uint64_t      ms = (uint64_t) gw_now_ms();

    snprintf(out, 13, "%012llx", (unsigned long long) (ms & 0xffffffffffffULL));
    if (gw_random_bytes(rnd, sizeof(rnd)) != 0) {
        memset(rnd, 0, sizeof(rnd));
    }
    gw_hex_encode(rnd, sizeof(rnd), out + 12);
}

int
gw_outbox_add(struct gw_db *db, const char *user_id, const char *type,
              const char *payload_json, char *id_out)
{
    char id[GW_NOTIF_ID_LEN + 1];
    int  rc;

    gw_outbox_id_new(id);
    rc = gw_stmt_exec(db,
                      "INSERT INTO outbox (notif_id, user_id, type, payload,"
                      " created_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))",
                      GW_ARGS(GW_STR(id), GW_STR(user_id), GW_STR(type),
                              GW_STR(payload_json)));
    if (rc == GW_OK && id_out != NULL) {
        memcpy(id_out, id, sizeof(id));
    }
    return rc;
}

/*
 * The event row only for a provider with a webhook URL: an event for a
 * provider without one would only be claimed and recorded "skipped" by
 * the deliverer (a row, five index entries and two updates per purchase
 * for nothing). The SELECT is a locking read of the provider's row, so a
 * URL set by a committed provider change is seen, and a change waits for
 * the purchase to commit; an event queued while the provider had a URL
 * that is removed later is still recorded "skipped" at delivery.
 */
#define GW_OUTBOX_WEBHOOK_SQL                                                  \
    "INSERT INTO webhook_events (event_id, provider_id, type, payload,"        \
    " next_attempt_at, created_at) SELECT ?, p.id, ?, ?, UTC_TIMESTAMP(3),"    \
    " UTC_TIMESTAMP(3) FROM providers p WHERE p.id = ? AND p.webhook_url IS"   \
    " NOT NULL AND p.webhook_url <> ''"

int
gw_outbox_webhook_add(struct gw_db *db, int64_t provider_id, const char *type,
                      const char *payload_json, char *id_out)
{
    char id[GW_NOTIF_ID_LEN + 1];
    int  rc;

    gw_outbox_id_new(id);
    rc = gw_stmt_exec(db, GW_OUTBOX_WEBHOOK_SQL,
                      GW_ARGS(GW_STR(id), GW_STR(type), GW_STR(payload_json),
                              GW_I64(provider_id)));
    if (rc == GW_OK && id_out != NULL) {
        if (db->affected == 1) {
            memcpy(id_out, id, sizeof(id));
        } else {
            id_out[0] = '\0';
        }
    }
    return rc;
}
