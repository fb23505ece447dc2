/*
 * store_start.h — the paid start of a lobby (API.md "POST
 * /v1/lobbies/{id}/start"): all or nothing over every player's phone
 * account, with billing's two-phase holds.
 *
 *   1. store_start_reserve()  inside the caller's transaction: the start
 *      row (unique per lobby and attempt: the replay anchor), a hold of the
 *      fee on every player without a valid pass, in account-id order (so
 *      concurrent starts sharing players cannot deadlock). Anyone unable to
 *      pay: GW_EFUNDS with every refusal listed in players[].refusal; the
 *      caller rolls back, so nothing is reserved.
 *   2. store_start_allocate() outside any transaction: POST to the game's
 *      allocator (libcurl, explicit connect/total timeouts, one retry).
 *   3. store_start_capture() or store_start_release() inside the caller's
 *      next transaction: capture every hold (one ledger txn and one CDR of
 *      kind 'capture' per payer, with cdrs.lobby_start_id) and queue each
 *      player's lobby.started notification; or release every hold.
 *
 * Recovery: a crash after step 1 leaves a 'reserved' row and pending holds.
 * The janitor expires the holds ([billing] hold_ttl_s) and, since the
 * lobby stays "starting" only for [lobby] start_timeout_s, the next start
 * of that lobby marks the old row 'abandoned' and releases whatever holds
 * are still pending before it reserves again. A captured start is found by
 * step 1 of any later attempt and replayed instead (s->replay).
 *
 * Every SQL value travels as a typed bind (gw_stmt.h); the ctx is the
 * store's (store.h). Ownership: strings in s live in ctx->a.
 * Thread-safety: the ctx belongs to the caller's thread; libcurl's global
 * init is done by svc_init. Errors: GW_EFUNDS, GW_EBADGATEWAY,
 * GW_ECONFLICT (the start was settled by someone else), database
 * statuses.
 */
#ifndef STORE_START_H
#define STORE_START_H

#include <stdint.h>

#include "gw_assert.h"
#include "gw_config.h"
#include "store.h"

#define STORE_START_PLAYERS_MAX 64
#define STORE_START_MATCH_MAX   64
#define STORE_START_HOST_MAX    255
#define STORE_START_REPLY_MAX   (64 * 1024) /* allocator answer */
#define STORE_START_ALLOC_TRIES 2           /* one retry */
#define STORE_START_FAILURE_MAX 255

struct store_start_player {
    const char *user_id;
    int64_t     subscriber_id; /* 0: not bound to a phone account */
    int64_t     account_id;
    int64_t     fee; /* 0: plays free (pass) */
    int64_t     hold_id;
    int64_t     txn_id;
    const char *refusal; /* problem code when this player cannot pay */
    const char *ticket;  /* set by the caller before capture */
};

struct store_start {
    /* in */
    const char               *lobby_id;
    int64_t                   attempt;
    const char               *owner;
    int64_t                   game_id;
    struct store_start_player players[STORE_START_PLAYERS_MAX];
    size_t                    nplayers;
    /* out */
    const char *game_title, *game_sku, *pricing, *allocator_url, *currency;
    int64_t     price, provider_id, share_bp;
    int64_t     start_id;
    const char *replay; /* body of an earlier captured start, or NULL */
    size_t      nrefused;
    char        match_id[STORE_START_MATCH_MAX + 1];
    char        host[STORE_START_HOST_MAX + 1];
    int64_t     port;
};

/* The captured start of a lobby (replay, match) or GW_ENOTFOUND. */
int store_start_find(struct store_ctx *ctx, const char *lobby_id,
                     struct store_start *s) GW_MUST_CHECK;

/* Step 1 (inside a transaction). */
int store_start_reserve(struct store_ctx   *ctx,
                        struct store_start *s) GW_MUST_CHECK;

/* Step 2 (no transaction open). Fills match_id, host, port. */
int store_start_allocate(const struct gw_config *cfg, const char *rid,
                         struct store_start *s) GW_MUST_CHECK;

/*
 * Step 3 (inside a transaction). body is the 200 reply recorded for
 * replays; payload_of(i) the lobby.started payload of player i.
 */
int store_start_capture(struct store_ctx *ctx, struct store_start *s,
                        const char *body,
                        const char *(*payload_of)(void *arg, size_t i),
                        void *arg) GW_MUST_CHECK;
int store_start_release(struct store_ctx *ctx, struct store_start *s,
                        const char *failure) GW_MUST_CHECK;

#endif /* STORE_START_H */
