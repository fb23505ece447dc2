/*
 * store_start.c — a lobby's paid start: reserve, allocate, capture or
 * release (store_start.h has the protocol and the recovery story).
 *
 * Why holds and not charges: the game server is allocated by a partner
 * over HTTP, which may fail or hang; nobody may be charged for a game that
 * never started, and no MariaDB transaction may stay open across a
 * partner's HTTP call. Holds count against balance, credit limit and caps
 * at once, so the capture after allocation cannot fail for lack of funds.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "gw_log.h"
#include "gw_outbox.h"
#include "gw_status.h"
#include "gw_util.h"
#include "store_start.h"

/* The game: price, pricing, allocator and the provider's share. */
static int
store_start_game(struct gw_db *db, struct gw_arena *a, struct store_start *s)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_db_row(db, a, &row,
                   "SELECT i.title, i.sku, COALESCE(i.pricing, 'per_play'),"
                   " i.allocator_url, i.price, i.currency, i.provider_id,"
                   " p.revenue_share_bp FROM items i JOIN providers p ON"
                   " p.id = i.provider_id WHERE i.id = %lld AND i.kind ="
                   " 'game'",
                   (long long) s->game_id);
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    s->game_title = row[0];
    s->game_sku = row[1];
    s->pricing = row[2];
    s->allocator_url = row[3];
    s->price = gw_db_col_i64(row, 4);
    s->currency = row[5];
    s->provider_id = gw_db_col_i64(row, 6);
    s->share_bp = gw_db_col_i64(row, 7);
    return s->allocator_url != NULL && s->allocator_url[0] ? GW_OK
                                                           : GW_EBADGATEWAY;
}

/* Releases the pending holds of an earlier, unfinished attempt. */
static int
store_start_abandon(struct gw_db *db, struct gw_arena *a,
                    const struct bill_ctx *ctx, int64_t start_id,
                    const struct store_start *s)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int        rc;

    rc = gw_db_query(db, a, &res,
                     "SELECT hold_id FROM lobby_start_players WHERE start_id"
                     " = %lld AND hold_id IS NOT NULL ORDER BY hold_id",
                     (long long) start_id);
    while (rc == GW_OK && (row = mysql_fetch_row(res)) != NULL) {
        rc = bill_hold_release(db, a, ctx, gw_db_col_i64(row, 0));
        if (rc == GW_ECONFLICT || rc == GW_EEXPIRED) {
            rc = GW_OK; /* settled already (the janitor expired it) */
        }
    }
    if (rc == GW_OK) {
        rc = gw_db_exec(db,
                        "UPDATE lobby_starts SET state = 'abandoned', failure"
                        " = CONCAT('superseded by attempt ', %lld),"
                        " settled_at = UTC_TIMESTAMP(3) WHERE id = %lld",
                        (long long) s->attempt, (long long) start_id);
    }
    return rc;
}

/* A captured start's row (state, result, match, host, port) into s. */
static void
store_start_replay(struct store_start *s, int64_t id, MYSQL_ROW row)
{
    s->start_id = id;
    s->replay = row[1];
    snprintf(s->match_id, sizeof(s->match_id), "%s", row[2] ? row[2] : "");
    snprintf(s->host, sizeof(s->host), "%s", row[3] ? row[3] : "");
    s->port = gw_db_col_i64(row, 4);
}

int
store_start_find(struct gw_db *db, struct gw_arena *a, const char *lobby_id,
                 struct store_start *s)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_db_row(db, a, &row,
                   "SELECT state, result, match_id, server_host, server_port,"
                   " id FROM lobby_starts WHERE lobby_id = %s AND state ="
                   " 'captured' LIMIT 1",
                   lobby_id);
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    store_start_replay(s, gw_db_col_i64(row, 5), row);
    return GW_OK;
}

/*
 * Earlier attempts of this lobby: a captured one is replayed; an
 * unfinished one (crash, or a start past start_timeout_s) is abandoned.
 * A plain read finds them (the lobby's Redis state lets one start run at a
 * time), then each row is locked by primary key only: no gap locks.
 */
static int
store_start_previous(struct gw_db *db, struct gw_arena *a,
                     const struct bill_ctx *ctx, struct store_start *s)
{
    MYSQL_RES *res;
    MYSQL_ROW  row, lk;
    int        rc;

    rc = gw_db_query(db, a, &res,
                     "SELECT id FROM lobby_starts WHERE lobby_id = %s AND"
                     " state IN ('reserved', 'captured') ORDER BY id",
                     s->lobby_id);
    while (rc == GW_OK && (row = mysql_fetch_row(res)) != NULL) {
        int64_t id = gw_db_col_i64(row, 0);

        rc = gw_db_row(db, a, &lk,
                       "SELECT state, result, match_id, server_host,"
                       " server_port FROM lobby_starts WHERE id = %lld"
                       " FOR UPDATE",
                       (long long) id);
        if (rc != GW_OK || lk == NULL) {
            break;
        }
        if (strcmp(lk[0], "captured") == 0) {
            store_start_replay(s, id, lk);
            return GW_OK;
        }
        if (strcmp(lk[0], "reserved") == 0) {
            rc = store_start_abandon(db, a, ctx, id, s);
        }
    }
    return rc;
}

/* Who pays what: bound subscriber, valid pass, pricing. */
static int
store_start_fees(struct gw_db *db, struct gw_arena *a,
                 const struct bill_ctx *ctx, struct store_start *s)
{
    struct bill_subscriber sub;
    MYSQL_ROW              row;
    size_t                 i;
    int                    rc, pass_game = strcmp(s->pricing, "pass") == 0;

    for (i = 0; i < s->nplayers; i++) {
        struct store_start_player *p = &s->players[i];

        rc = gw_db_row(db, a, &row,
                       "SELECT COUNT(*) FROM entitlements WHERE"
                       " owner_user_id = %s AND item_id = %lld AND kind ="
                       " 'pass' AND status = 'active' AND expires_at >"
                       " UTC_TIMESTAMP(3)",
                       p->user_id, (long long) s->game_id);
        if (rc != GW_OK) {
            return rc;
        }
        if (row != NULL && gw_db_col_i64(row, 0) > 0) {
            continue; /* pass holders play free */
        }
        if (pass_game) {
            p->refusal = "pass_required";
            continue;
        }
        if (s->price == 0) {
            continue;
        }
        rc = bill_subscriber_by_user(db, a, ctx->cfg, p->user_id, &sub);
        if (rc == GW_ENOTFOUND) {
            p->refusal = "no_phone_account";
            continue;
        }
        if (rc != GW_OK) {
            return rc;
        }
        p->subscriber_id = sub.id;
        p->account_id = sub.account_id;
        p->fee = s->price;
    }
    return GW_OK;
}

static int
store_start_by_account(const void *x, const void *y, void *arg)
{
    const struct store_start_player *p =
        ((const struct store_start *) arg)->players;
    int64_t a = p[*(const size_t *) x].account_id;
    int64_t b = p[*(const size_t *) y].account_id;

    return a < b ? -1 : a > b;
}

/* Player indices in account-id order (the lock order of every start). */
static void
store_start_order(const struct store_start *s, size_t *idx)
{
    size_t i;

    for (i = 0; i < s->nplayers; i++) {
        idx[i] = i;
    }
    qsort_r(idx, s->nplayers, sizeof(*idx), store_start_by_account, (void *) s);
}

static int
store_start_holds(struct gw_db *db, struct gw_arena *a,
                  const struct bill_ctx *ctx, struct store_start *s)
{
    size_t           idx[STORE_START_PLAYERS_MAX], k;
    struct bill_hold h;
    char             ref[48];
    int              rc;

    snprintf(ref, sizeof(ref), "lobby_start:%lld", (long long) s->start_id);
    store_start_order(s, idx);
    for (k = 0; k < s->nplayers; k++) {
        struct store_start_player *p = &s->players[idx[k]];

        if (p->fee == 0 || p->refusal != NULL) {
            continue;
        }
        memset(&h, 0, sizeof(h));
        h.subscriber_id = p->subscriber_id;
        h.amount = p->fee;
        h.provider_id = s->provider_id;
        h.share_bp = s->share_bp;
        h.reference = ref;
        h.item_id = s->game_id;
        h.sku = s->game_sku;
        rc = bill_hold_reserve(db, a, ctx, &h, &p->hold_id);
        if (rc == GW_EFUNDS || rc == GW_ECAP || rc == GW_ESUSPENDED) {
            /* Nothing changed for this player; go on to list everyone. */
            p->refusal = gw_status_code(rc);
            continue;
        }
        if (rc != GW_OK) {
            return rc;
        }
    }
    return GW_OK;
}

static int
store_start_record(struct gw_db *db, struct store_start *s)
{
    size_t i, payers = 0;
    int    rc;

    for (i = 0; i < s->nplayers; i++) {
        payers += s->players[i].fee > 0;
    }
    rc = gw_db_exec(db,
                    "INSERT INTO lobby_starts (lobby_id, attempt, game_id,"
                    " owner_user_id, state, fee, currency, players, payers,"
                    " created_at) VALUES (%s, %lld, %lld, %s, 'reserved',"
                    " %lld, %s, %d, %d, UTC_TIMESTAMP(3))",
                    s->lobby_id, (long long) s->attempt, (long long) s->game_id,
                    s->owner, (long long) s->price, s->currency,
                    (int) s->nplayers, (int) payers);
    if (rc == GW_EDUP) {
        return GW_ECONFLICT; /* this attempt is recorded already */
    }
    if (rc == GW_OK) {
        s->start_id = db->insert_id;
    }
    return rc;
}

int
store_start_reserve(struct gw_db *db, struct gw_arena *a,
                    const struct bill_ctx *ctx, struct store_start *s)
{
    size_t i;
    int    rc;

    s->replay = NULL;
    s->nrefused = 0;
    if ((rc = store_start_game(db, a, s)) != GW_OK
        || (rc = store_start_previous(db, a, ctx, s)) != GW_OK
        || s->replay != NULL || (rc = store_start_fees(db, a, ctx, s)) != GW_OK
        || (rc = store_start_record(db, s)) != GW_OK
        || (rc = store_start_holds(db, a, ctx, s)) != GW_OK) {
        return rc;
    }
    for (i = 0; i < s->nplayers; i++) {
        const struct store_start_player *p = &s->players[i];

        if (p->refusal != NULL) {
            s->nrefused++;
            continue;
        }
        rc = gw_db_defer(db,
                         "INSERT INTO lobby_start_players (start_id, user_id,"
                         " subscriber_id, fee, hold_id) VALUES (%lld, %s,"
                         " NULLIF(%lld, 0), %lld, NULLIF(%lld, 0))",
                         (long long) s->start_id, p->user_id,
                         (long long) p->subscriber_id, (long long) p->fee,
                         (long long) p->hold_id);
        if (rc != GW_OK) {
            return rc;
        }
    }
    return s->nrefused > 0 ? GW_EFUNDS : GW_OK;
}

/* Locks the start row; GW_ECONFLICT unless it is still 'reserved'. */
static int
store_start_lock(struct gw_db *db, struct gw_arena *a,
                 const struct store_start *s)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_db_row(db, a, &row,
                   "SELECT state FROM lobby_starts WHERE id = %lld FOR UPDATE",
                   (long long) s->start_id);
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    return strcmp(row[0], "reserved") == 0 ? GW_OK : GW_ECONFLICT;
}

static int
store_start_capture_one(struct gw_db *db, struct gw_arena *a,
                        const struct bill_ctx *ctx, struct store_start *s,
                        struct store_start_player *p)
{
    struct bill_result res;
    int                rc;

    rc = bill_hold_capture(db, a, ctx, p->hold_id, 0, &res);
    if (rc != GW_OK) {
        return rc;
    }
    p->txn_id = res.txn_id;
    /* The CDR names what it charges for (migration 005). */
    rc = gw_db_defer(db,
                     "UPDATE cdrs SET kind = 'capture', lobby_start_id = %lld"
                     " WHERE txn_id = %lld",
                     (long long) s->start_id, (long long) res.txn_id);
    if (rc == GW_OK) {
        rc = gw_db_defer(db,
                         "UPDATE lobby_start_players SET capture_txn_id ="
                         " %lld WHERE start_id = %lld AND user_id = %s",
                         (long long) res.txn_id, (long long) s->start_id,
                         p->user_id);
    }
    return rc;
}

int
store_start_capture(struct gw_db *db, struct gw_arena *a,
                    const struct bill_ctx *ctx, struct store_start *s,
                    const char *body,
                    const char *(*payload_of)(void *arg, size_t i), void *arg)
{
    size_t idx[STORE_START_PLAYERS_MAX], k;
    int    rc;

    rc = store_start_lock(db, a, s);
    if (rc != GW_OK) {
        return rc;
    }
    store_start_order(s, idx);
    for (k = 0; k < s->nplayers && rc == GW_OK; k++) {
        if (s->players[idx[k]].hold_id > 0) {
            rc = store_start_capture_one(db, a, ctx, s, &s->players[idx[k]]);
        }
    }
    for (k = 0; k < s->nplayers && rc == GW_OK; k++) {
        const char *p = payload_of(arg, k);

        rc = p != NULL
            ? gw_outbox_add(db, s->players[k].user_id, "lobby.started", p, NULL)
            : GW_ERROR;
    }
    if (rc != GW_OK) {
        return rc;
    }
    return gw_db_defer(db,
                       "UPDATE lobby_starts SET state = 'captured', match_id ="
                       " %s, server_host = %s, server_port = %lld, result ="
                       " %s, settled_at = UTC_TIMESTAMP(3) WHERE id = %lld",
                       s->match_id, s->host, (long long) s->port, body,
                       (long long) s->start_id);
}

int
store_start_release(struct gw_db *db, struct gw_arena *a,
                    const struct bill_ctx *ctx, struct store_start *s,
                    const char *failure)
{
    size_t idx[STORE_START_PLAYERS_MAX], k;
    int    rc;

    rc = store_start_lock(db, a, s);
    if (rc != GW_OK) {
        return rc;
    }
    store_start_order(s, idx);
    for (k = 0; k < s->nplayers && rc == GW_OK; k++) {
        if (s->players[idx[k]].hold_id > 0) {
            rc = bill_hold_release(db, a, ctx, s->players[idx[k]].hold_id);
        }
    }
    if (rc != GW_OK) {
        return rc;
    }
    return gw_db_defer(db,
                       "UPDATE lobby_starts SET state = 'released', failure ="
                       " %s, settled_at = UTC_TIMESTAMP(3) WHERE id = %lld",
                       failure, (long long) s->start_id);
}
