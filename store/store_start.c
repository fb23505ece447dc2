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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_log.h"
#include "gw_outbox.h"
#include "gw_status.h"
#include "gw_stmt.h"
#include "gw_util.h"
#include "store_start.h"

static void
store_start_bill_ctx(const struct store_ctx *ctx, struct bill_ctx *bc)
{
    bc->cfg = ctx->cfg;
    bc->actor = ctx->actor;
    bc->reason = "lobby start";
    bc->rid = ctx->rid;
}

/* The game: price, pricing, allocator and the provider's share. */
static int
store_start_game(struct store_ctx *ctx, struct store_start *s)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_stmt_row(ctx->db, ctx->a, &row,
                     "SELECT i.title, i.sku, COALESCE(i.pricing,"
                     " 'per_play'), i.allocator_url, i.price, i.currency,"
                     " i.provider_id, p.revenue_share_bp FROM items i JOIN"
                     " providers p ON p.id = i.provider_id WHERE i.id = ?"
                     " AND i.kind = 'game'",
                     GW_ARGS(GW_I64(s->game_id)));
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
store_start_find(struct store_ctx *ctx, const char *lobby_id,
                 struct store_start *s)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_stmt_row(ctx->db, ctx->a, &row,
                     "SELECT state, result, match_id, server_host,"
                     " server_port, id FROM lobby_starts WHERE lobby_id = ?"
                     " AND state = 'captured' LIMIT 1",
                     GW_ARGS(GW_STR(lobby_id)));
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    store_start_replay(s, gw_db_col_i64(row, 5), row);
    return GW_OK;
}

/* Releases the pending holds of an earlier, unfinished attempt. */
static int
store_start_abandon(struct store_ctx *ctx, int64_t start_id,
                    const struct store_start *s)
{
    struct gw_rows  holds;
    struct bill_ctx bc;
    size_t          i;
    int             rc;

    store_start_bill_ctx(ctx, &bc);
    rc = gw_stmt_query(ctx->db, ctx->a, &holds,
                       "SELECT hold_id FROM lobby_start_players WHERE"
                       " start_id = ? AND hold_id IS NOT NULL ORDER BY"
                       " hold_id",
                       GW_ARGS(GW_I64(start_id)));
    for (i = 0; rc == GW_OK && i < holds.n; i++) {
        rc = bill_hold_release(ctx->db, ctx->a, &bc,
                               gw_db_col_i64(holds.row[i], 0));
        if (rc == GW_ECONFLICT || rc == GW_EEXPIRED) {
            rc = GW_OK; /* settled already (the janitor expired it) */
        }
    }
    if (rc == GW_OK) {
        rc = gw_stmt_exec(ctx->db,
                          "UPDATE lobby_starts SET state = 'abandoned',"
                          " failure = CONCAT('superseded by attempt ', ?),"
                          " settled_at = UTC_TIMESTAMP(3) WHERE id = ?",
                          GW_ARGS(GW_I64(s->attempt), GW_I64(start_id)));
    }
    return rc;
}

/*
 * Earlier attempts of this lobby: a captured one is replayed; an
 * unfinished one (crash, or a start past start_timeout_s) is abandoned.
 * A plain read finds them (the lobby's Redis state lets one start run at a
 * time), then each row is locked by primary key only: no gap locks.
 */
static int
store_start_previous(struct store_ctx *ctx, struct store_start *s)
{
    struct gw_rows ids;
    MYSQL_ROW      lk;
    size_t         i;
    int            rc;

    rc = gw_stmt_query(ctx->db, ctx->a, &ids,
                       "SELECT id FROM lobby_starts WHERE lobby_id = ? AND"
                       " state IN ('reserved', 'captured') ORDER BY id",
                       GW_ARGS(GW_STR(s->lobby_id)));
    for (i = 0; rc == GW_OK && i < ids.n; i++) {
        int64_t id = gw_db_col_i64(ids.row[i], 0);

        rc = gw_stmt_row(ctx->db, ctx->a, &lk,
                         "SELECT state, result, match_id, server_host,"
                         " server_port FROM lobby_starts WHERE id = ?"
                         " FOR UPDATE",
                         GW_ARGS(GW_I64(id)));
        if (rc != GW_OK || lk == NULL) {
            break;
        }
        if (strcmp(lk[0], "captured") == 0) {
            store_start_replay(s, id, lk);
            return GW_OK;
        }
        if (strcmp(lk[0], "reserved") == 0) {
            rc = store_start_abandon(ctx, id, s);
        }
    }
    return rc;
}

/* One player: a valid pass plays free; else the fee, from a phone account. */
static int
store_start_fee(struct store_ctx *ctx, struct store_start *s,
                struct store_start_player *p)
{
    struct bill_subscriber sub;
    MYSQL_ROW              row;
    int                    rc;

    rc = gw_stmt_row(ctx->db, ctx->a, &row,
                     "SELECT COUNT(*) FROM entitlements WHERE"
                     " owner_user_id = ? AND item_id = ? AND kind = 'pass'"
                     " AND status = 'active' AND expires_at >"
                     " UTC_TIMESTAMP(3)",
                     GW_ARGS(GW_STR(p->user_id), GW_I64(s->game_id)));
    if (rc != GW_OK || (row != NULL && gw_db_col_i64(row, 0) > 0)) {
        return rc; /* pass holders play free */
    }
    if (strcmp(s->pricing, "pass") == 0) {
        p->refusal = "pass_required";
        return GW_OK;
    }
    if (s->price == 0) {
        return GW_OK;
    }
    rc = bill_subscriber_by_user(ctx->db, ctx->a, ctx->cfg, p->user_id, &sub);
    if (rc == GW_ENOTFOUND) {
        p->refusal = "no_phone_account";
        return GW_OK;
    }
    if (rc == GW_OK) {
        p->subscriber_id = sub.id;
        p->account_id = sub.account_id;
        p->fee = s->price;
    }
    return rc;
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
store_start_holds(struct store_ctx *ctx, struct store_start *s)
{
    size_t           idx[STORE_START_PLAYERS_MAX], k;
    struct bill_hold h;
    struct bill_ctx  bc;
    char             ref[48];
    int              rc;

    store_start_bill_ctx(ctx, &bc);
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
        rc = bill_hold_reserve(ctx->db, ctx->a, &bc, &h, &p->hold_id);
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
store_start_record(struct store_ctx *ctx, struct store_start *s)
{
    size_t i, payers = 0;
    int    rc;

    for (i = 0; i < s->nplayers; i++) {
        payers += s->players[i].fee > 0;
    }
    rc = gw_stmt_exec(ctx->db,
                      "INSERT INTO lobby_starts (lobby_id, attempt, game_id,"
                      " owner_user_id, state, fee, currency, players, payers,"
                      " created_at) VALUES (?, ?, ?, ?, 'reserved', ?, ?, ?,"
                      " ?, UTC_TIMESTAMP(3))",
                      GW_ARGS(GW_STR(s->lobby_id), GW_I64(s->attempt),
                              GW_I64(s->game_id), GW_STR(s->owner),
                              GW_I64(s->price), GW_STR(s->currency),
                              GW_I64(s->nplayers), GW_I64(payers)));
    if (rc == GW_EDUP) {
        return GW_ECONFLICT; /* this attempt is recorded already */
    }
    if (rc == GW_OK) {
        s->start_id = ctx->db->insert_id;
    }
    return rc;
}

static int
store_start_players(struct store_ctx *ctx, struct store_start *s)
{
    size_t i;
    int    rc = GW_OK;

    for (i = 0; rc == GW_OK && i < s->nplayers; i++) {
        const struct store_start_player *p = &s->players[i];

        rc = gw_stmt_exec(ctx->db,
                          "INSERT INTO lobby_start_players (start_id,"
                          " user_id, subscriber_id, fee, hold_id) VALUES (?,"
                          " ?, NULLIF(?, 0), ?, NULLIF(?, 0))",
                          GW_ARGS(GW_I64(s->start_id), GW_STR(p->user_id),
                                  GW_I64(p->subscriber_id), GW_I64(p->fee),
                                  GW_I64(p->hold_id)));
    }
    return rc;
}

int
store_start_reserve(struct store_ctx *ctx, struct store_start *s)
{
    size_t i;
    int    rc;

    s->replay = NULL;
    s->nrefused = 0;
    if ((rc = store_start_game(ctx, s)) != GW_OK
        || (rc = store_start_previous(ctx, s)) != GW_OK || s->replay != NULL) {
        return rc;
    }
    for (i = 0; i < s->nplayers; i++) {
        rc = store_start_fee(ctx, s, &s->players[i]);
        if (rc != GW_OK) {
            return rc;
        }
    }
    if ((rc = store_start_record(ctx, s)) != GW_OK
        || (rc = store_start_holds(ctx, s)) != GW_OK) {
        return rc;
    }
    for (i = 0; i < s->nplayers; i++) {
        s->nrefused += s->players[i].refusal != NULL;
    }
    if (s->nrefused > 0) {
        return GW_EFUNDS; /* the caller rolls back: nothing is reserved */
    }
    return store_start_players(ctx, s);
}

/* Locks the start row; GW_ECONFLICT unless it is still 'reserved'. */
static int
store_start_lock(struct store_ctx *ctx, const struct store_start *s)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_stmt_row(ctx->db, ctx->a, &row,
                     "SELECT state FROM lobby_starts WHERE id = ? FOR UPDATE",
                     GW_ARGS(GW_I64(s->start_id)));
    if (rc != GW_OK || row == NULL) {
        return rc != GW_OK ? rc : GW_ENOTFOUND;
    }
    return strcmp(row[0], "reserved") == 0 ? GW_OK : GW_ECONFLICT;
}

static int
store_start_capture_one(struct store_ctx *ctx, struct store_start *s,
                        struct store_start_player *p)
{
    struct bill_result res;
    struct bill_ctx    bc;
    int                rc;

    store_start_bill_ctx(ctx, &bc);
    /* One ledger txn and one CDR (kind 'capture', lobby_start_id) each. */
    rc = bill_hold_capture_start(ctx->db, ctx->a, &bc, p->hold_id, 0,
                                 s->start_id, &res);
    if (rc != GW_OK) {
        return rc;
    }
    p->txn_id = res.txn_id;
    return gw_stmt_exec(
        ctx->db,
        "UPDATE lobby_start_players SET capture_txn_id = ?"
        " WHERE start_id = ? AND user_id = ?",
        GW_ARGS(GW_I64(res.txn_id), GW_I64(s->start_id), GW_STR(p->user_id)));
}

int
store_start_capture(struct store_ctx *ctx, struct store_start *s,
                    const char *body,
                    const char *(*payload_of)(void *arg, size_t i), void *arg)
{
    size_t idx[STORE_START_PLAYERS_MAX], k;
    int    rc;

    rc = store_start_lock(ctx, s);
    if (rc != GW_OK) {
        return rc;
    }
    store_start_order(s, idx);
    for (k = 0; k < s->nplayers && rc == GW_OK; k++) {
        if (s->players[idx[k]].hold_id > 0) {
            rc = store_start_capture_one(ctx, s, &s->players[idx[k]]);
        }
    }
    for (k = 0; k < s->nplayers && rc == GW_OK; k++) {
        const char *p = payload_of(arg, k);

        rc = p != NULL ? gw_outbox_add(ctx->db, s->players[k].user_id,
                                       "lobby.started", p, NULL)
                       : GW_ERROR;
    }
    if (rc != GW_OK) {
        return rc;
    }
    return gw_stmt_exec(ctx->db,
                        "UPDATE lobby_starts SET state = 'captured', match_id"
                        " = ?, server_host = ?, server_port = ?, result = ?,"
                        " settled_at = UTC_TIMESTAMP(3) WHERE id = ?",
                        GW_ARGS(GW_STR(s->match_id), GW_STR(s->host),
                                GW_I64(s->port), GW_STR(body),
                                GW_I64(s->start_id)));
}

int
store_start_release(struct store_ctx *ctx, struct store_start *s,
                    const char *failure)
{
    size_t          idx[STORE_START_PLAYERS_MAX], k;
    struct bill_ctx bc;
    int             rc;

    store_start_bill_ctx(ctx, &bc);
    rc = store_start_lock(ctx, s);
    if (rc != GW_OK) {
        return rc;
    }
    store_start_order(s, idx);
    for (k = 0; k < s->nplayers && rc == GW_OK; k++) {
        if (s->players[idx[k]].hold_id > 0) {
            rc = bill_hold_release(ctx->db, ctx->a, &bc,
                                   s->players[idx[k]].hold_id);
        }
    }
    if (rc != GW_OK) {
        return rc;
    }
    return gw_stmt_exec(ctx->db,
                        "UPDATE lobby_starts SET state = 'released', failure"
                        " = ?, settled_at = UTC_TIMESTAMP(3) WHERE id = ?",
                        GW_ARGS(GW_STR(failure), GW_I64(s->start_id)));
}
