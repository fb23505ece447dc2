/*
 * svc_lobby_start.c — POST /v1/lobbies/{id}/start: the lobby's state in
 * Redis around the paid start of store/store_start.h.
 *
 *   lob_start_begin      owner, open, enough players, all ready → starting
 *   txn 1                store_start_reserve (402 lists who cannot pay)
 *   allocate             store_start_allocate, no transaction open
 *   txn 2                store_start_capture + lobby.started outbox rows
 *                        + the idempotency record — or store_start_release
 *   lob_start_finish     started (or lob_start_abort: open again)
 *
 * A lobby already started answers its recorded start (replayed from
 * MariaDB, charging nothing); concurrent starts of one lobby meet
 * "starting" in Redis and get 409, and MariaDB's unique (lobby, attempt)
 * backs that up.
 */
#include <string.h>

#include "gw_idem.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "lob.h"
#include "store_start.h"
#include "svc_lobby.h"
#include "svc_tx.h"

struct svc_start {
    struct store_start s;
    struct lob_result *res;
    struct store_ctx   ctx;
    const char        *body;
    const char        *failure;
    int64_t            started_ms, ticket_exp;
    struct gw_request *r;
};

static int
svc_start_reserve_txn(struct gw_request *r, void *arg)
{
    struct svc_start *st = arg;
    size_t            i;

    (void) r;
    for (i = 0; i < st->s.nplayers; i++) { /* a retried txn starts afresh */
        struct store_start_player *p = &st->s.players[i];

        p->subscriber_id = p->account_id = p->fee = p->hold_id = 0;
        p->refusal = NULL;
    }
    return store_start_reserve(&st->ctx, &st->s);
}

/* The player's lobby.started payload, with their personal ticket. */
static const char *
svc_start_payload(void *arg, size_t i)
{
    struct svc_start                *st = arg;
    struct gw_request               *r = st->r;
    const struct store_start_player *p = &st->s.players[i];
    char                             ticket[LOB_TICKET_MAX], ts[32];
    cJSON                           *o, *srv;

    if (lob_ticket_make(r->cfg, st->s.lobby_id, st->s.match_id, p->user_id,
                        st->s.host, st->s.port, st->ticket_exp, ticket,
                        sizeof(ticket))
        != GW_OK) {
        return NULL;
    }
    o = gw_json_own(r->arena, cJSON_CreateObject());
    if (o == NULL) {
        return NULL;
    }
    gw_time_rfc3339(st->ticket_exp, ts, sizeof(ts));
    cJSON_AddStringToObject(o, "lobby_id", st->s.lobby_id);
    cJSON_AddNumberToObject(o, "game_id", (double) st->s.game_id);
    cJSON_AddStringToObject(o, "game_title", st->s.game_title);
    cJSON_AddStringToObject(o, "match_id", st->s.match_id);
    srv = cJSON_AddObjectToObject(o, "server");
    cJSON_AddStringToObject(srv, "host", st->s.host);
    cJSON_AddNumberToObject(srv, "port", (double) st->s.port);
    cJSON_AddStringToObject(o, "ticket", ticket);
    cJSON_AddStringToObject(o, "ticket_expires_at", ts);
    cJSON_AddNumberToObject(o, "amount", (double) p->fee);
    cJSON_AddStringToObject(o, "currency", st->s.currency);
    return gw_json_print(r->arena, o);
}

static int
svc_start_capture_txn(struct gw_request *r, void *arg)
{
    struct svc_start *st = arg;
    int               rc;

    rc = store_start_capture(&st->ctx, &st->s, st->body, svc_start_payload, st);
    return rc == GW_OK ? gw_idem_save(r, 200, st->body) : rc;
}

static int
svc_start_release_txn(struct gw_request *r, void *arg)
{
    struct svc_start *st = arg;

    (void) r;
    return store_start_release(&st->ctx, &st->s, st->failure);
}

/* 402: the problem lists every player who cannot pay, and why. */
static int
svc_start_refused(struct gw_request *r, struct svc_start *st)
{
    cJSON *extra = gw_json_own(r->arena, cJSON_CreateObject()), *arr, *o;
    size_t i;

    if (extra == NULL
        || (arr = cJSON_AddArrayToObject(extra, "players")) == NULL) {
        return GW_ERROR;
    }
    for (i = 0; i < st->s.nplayers; i++) {
        if (st->s.players[i].refusal == NULL) {
            continue;
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "user_id", st->s.players[i].user_id);
        cJSON_AddStringToObject(o, "code", st->s.players[i].refusal);
        cJSON_AddItemToArray(arr, o);
    }
    r->problem_extra = extra;
    gw_request_problem(r, "%zu player%s cannot pay for this game",
                       st->s.nrefused, st->s.nrefused == 1 ? "" : "s");
    return GW_EFUNDS;
}

/* The lobby as it is once started: the body of the 200 and of replays. */
static int
svc_start_body(struct gw_request *r, struct svc_start *st)
{
    struct lob_lobby *l = &st->res->lobby;
    struct gw_buf     b = {0};

    l->state = "started";
    l->match_id = st->s.match_id;
    l->host = st->s.host;
    l->port = st->s.port;
    l->started_ms = st->started_ms;
    l->active_ms = st->started_ms;
    if (lob_json(r->cfg, l, &b) != 0) {
        gw_buf_free(&b);
        return GW_ERROR;
    }
    st->body = gw_arena_strndup(r->arena, b.data, b.len);
    gw_buf_free(&b);
    return st->body != NULL ? GW_OK : GW_ERROR;
}

/* Replays the recorded start; Redis learns it too if it had not. */
static int
svc_start_replay(struct gw_request *r, struct svc_start *st, int64_t attempt)
{
    struct lob_result *fin = gw_arena_alloc(r->arena, sizeof(*fin));

    if (fin != NULL && attempt > 0) {
        lob_start_finish(&r->thr->redis, r->arena, r->cfg, st->s.lobby_id,
                         attempt, st->s.match_id, st->s.host, st->s.port,
                         gw_now_ms(), fin);
    }
    if (st->s.replay == NULL) {
        return GW_ERROR;
    }
    return gw_reply_raw(r, 200, "application/json", st->s.replay,
                        strlen(st->s.replay))
            == 0
        ? GW_OK
        : GW_ERROR;
}

static int
svc_start_prepare(struct gw_request *r, struct svc_start *st, const char *id)
{
    struct lob_lobby *l = &st->res->lobby;
    size_t            i;

    st->r = r;
    st->s.lobby_id = id;
    st->s.attempt = l->attempt;
    st->s.owner = r->user_id;
    st->s.game_id = l->game_id;
    st->s.nplayers = l->nmembers;
    for (i = 0; i < l->nmembers; i++) {
        st->s.players[i].user_id = l->members[i].user_id;
    }
    store_ctx_init(&st->ctx, &r->thr->db, r->arena, r->cfg, r->caller,
                   r->request_id);
    return svc_tx_run(r, svc_start_reserve_txn, st);
}

/* Allocation failed: release every hold, reopen the lobby, 502. */
static int
svc_start_fail(struct gw_request *r, struct svc_start *st, int rc)
{
    int rel;

    st->failure = rc == GW_EBADGATEWAY ? "allocator failed" : "start failed";
    rel = svc_tx_run(r, svc_start_release_txn, st);
    if (rel != GW_OK) {
        gw_log_error(r->request_id,
                     "start %lld: holds not released now (%d); they expire",
                     (long long) st->s.start_id, rel);
    }
    lob_start_abort(&r->thr->redis, r->arena, r->cfg, st->s.lobby_id,
                    st->s.attempt);
    if (rc == GW_EBADGATEWAY) {
        gw_request_problem(r,
                           "the game server could not be allocated;"
                           " nobody was charged");
    }
    return rc;
}

int
svc_lobby_start(struct gw_request *r)
{
    struct svc_start *st = gw_arena_calloc(r->arena, sizeof(*st));
    const char       *id = svc_lobby_id(r);
    struct lob_result fin;
    int               rc;

    if (id == NULL || st == NULL
        || (st->res = gw_arena_calloc(r->arena, sizeof(*st->res))) == NULL) {
        return id == NULL ? GW_ENOTFOUND : GW_ERROR;
    }
    rc = lob_start_begin(&r->thr->redis, r->arena, r->cfg, id, r->user_id,
                         st->res);
    if (rc != GW_OK) {
        return svc_lobby_refused(r, rc, st->res);
    }
    st->s.lobby_id = id;
    if (strcmp(st->res->lobby.state, "started") == 0) {
        store_ctx_init(&st->ctx, &r->thr->db, r->arena, r->cfg, r->caller,
                       r->request_id);
        rc = store_start_find(&st->ctx, id, &st->s);
        return rc == GW_OK ? svc_start_replay(r, st, 0) : rc;
    }
    rc = svc_start_prepare(r, st, id);
    if (rc == GW_OK && st->s.replay != NULL) {
        return svc_start_replay(r, st, st->res->lobby.attempt);
    }
    if (rc != GW_OK) {
        lob_start_abort(&r->thr->redis, r->arena, r->cfg, id,
                        st->res->lobby.attempt);
        return rc == GW_EFUNDS ? svc_start_refused(r, st) : rc;
    }
    rc = store_start_allocate(r->cfg, r->request_id, &st->s);
    if (rc != GW_OK) {
        return svc_start_fail(r, st, rc);
    }
    st->started_ms = gw_now_ms();
    st->ticket_exp = st->started_ms / 1000 + r->cfg->lobby.ticket_ttl_s;
    rc = svc_start_body(r, st);
    if (rc == GW_OK) {
        rc = svc_tx_run(r, svc_start_capture_txn, st);
    }
    if (rc != GW_OK) {
        /* ECONFLICT: a later attempt abandoned this one; anything else
         * leaves the holds to expire (or to the next attempt). */
        return rc;
    }
    if (lob_start_finish(&r->thr->redis, r->arena, r->cfg, id, st->s.attempt,
                         st->s.match_id, st->s.host, st->s.port, st->started_ms,
                         &fin)
        != GW_OK) {
        gw_log_warn(r->request_id, "lobby %s started but not marked in Redis",
                    id);
    }
    return gw_reply_raw(r, 200, "application/json", st->body, strlen(st->body))
            == 0
        ? GW_OK
        : GW_ERROR;
}
