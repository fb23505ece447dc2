/*
 * svc_lobby.c — lobby handlers: validation, then one lob_* call, then the
 * events as notifications and the lobby as JSON. The paid start is in
 * svc_lobby_start.c.
 */
#include <string.h>

#include "cat.h"
#include "gw_json.h"
#include "gw_log.h"
#include "gw_redis.h"
#include "gw_outbox.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "lob.h"
#include "svc_lobby.h"
#include "ntf_wire.h"

#define SVC_LOBBY_LIMIT_DEFAULT 20
#define SVC_LOBBY_MIN_PLAYERS   2

int
svc_lobby_init(void)
{
    return lob_init();
}

/* The {id} of the route, or NULL (answered 404: malformed ids name no
 * lobby, and say nothing about which exist). */
const char *
svc_lobby_id(struct gw_request *r)
{
    const char *id = gw_request_route_param(r, 0);

    if (!lob_id_valid(id)) {
        gw_request_problem(r, "no such lobby");
        return NULL;
    }
    return id;
}

int
svc_lobby_reply(struct gw_request *r, int status, struct lob_lobby *l)
{
    const char *json = lob_json_get(r->cfg, r->arena, l);

    if (json == NULL) {
        return GW_ERROR;
    }
    return gw_reply_raw(r, status, "application/json", json, l->json_len) == 0
        ? GW_OK
        : GW_ERROR;
}

/* A refusal's detail, from the script's word. */
int
svc_lobby_refused(struct gw_request *r, int rc, const struct lob_result *res)
{
    static const struct {
        const char *status, *detail;
    } details[] = {
        {"not_found", "no such lobby"},
        {"full", "the lobby is full"},
        {"closed", "the lobby is closed (started, or everyone left)"},
        {"not_member", "you are not a member of this lobby"},
        {"not_owner", "only the lobby's owner may do that"},
        {"starting", "the lobby is starting"},
        {"too_few", "not enough players for this game"},
        {"not_ready", "not every member is ready"},
        {"self", "the owner cannot kick themselves (leave instead)"},
        {"too_many", "too many invitees for this lobby"},
        {"no_target", "that user is not a member of this lobby"},
    };
    size_t i;

    if (rc == GW_EIN_LOBBY) {
        gw_request_problem(r, "you are already in another open lobby");
    } else if (rc == GW_EUNAVAIL) {
        gw_request_problem(r, "lobbies are unavailable (Redis)");
    }
    for (i = 0; res != NULL && res->status != NULL
         && i < sizeof(details) / sizeof(details[0]);
         i++) {
        if (strcmp(details[i].status, res->status) == 0) {
            gw_request_problem(r, "%s", details[i].detail);
        }
    }
    return rc;
}

/*
 * A request's lobby events, sent together with what the transition left
 * in other slots (lob_after_send: the game's listing, a released claim):
 * every item's NTF_CMDS_PER_ITEM commands (ntf_append) and those go out in ONE
 * pipelined round trip (a join in a full lobby tells up to
 * LOB_PLAYERS_MAX - 1 members), not one round trip per member or step.
 */
#define SVC_LOBBY_NOTES_MAX   (LOB_PLAYERS_MAX * 4)
#define SVC_LOBBY_ITEM_BYTES  800  /* an item's commands beside its payload */
#define SVC_LOBBY_AFTER_BYTES 2048 /* the listing put, a claim's release */

struct svc_lobby_note {
    const char *user, *type, *payload;
    char        id[NTF_ID_LEN + 1];
};

struct svc_lobby_notes {
    struct svc_lobby_note *item; /* cap of them, sized for the events */
    size_t                 n, cap;
};

/* Queues payload (JSON text, printed once per event) for user. */
static void
svc_lobby_send(struct gw_request *r, struct svc_lobby_notes *q,
               const char *user, const char *type, const char *payload)
{
    if (payload == NULL || q->n == q->cap) {
        gw_log_warn(r->request_id, "%s to %s not sent", type, user);
        return;
    }
    q->item[q->n].user = user;
    q->item[q->n].type = type;
    q->item[q->n].payload = payload;
    q->n++;
}

/* Appends every queued item; returns how many went into the pipeline. */
static size_t
svc_lobby_append(struct gw_request *r, struct svc_lobby_notes *q)
{
    struct gw_redis *rd = &r->thr->redis;
    struct ntf_item  it;
    struct gw_buf    b = {0};
    int64_t          now = gw_now_ms();
    size_t           i;

    for (i = 0; i < q->n; i++) {
        gw_outbox_id_new(q->item[i].id);
        it.id = q->item[i].id, it.user = q->item[i].user;
        it.type = q->item[i].type, it.payload = q->item[i].payload;
        it.created_ms = now;
        b.len = 0;
        if (ntf_item_json(&it, &b) != 0
            || ntf_append(rd, &it, b.data, b.len) != 0) {
            break;
        }
    }
    gw_buf_free(&b);
    return i;
}

/*
 * About the bytes of that round trip: each item's payload travels twice
 * (the stream entry and the inbox item) with ~800 bytes of ids, keys and
 * framing; the listing put and a claim's release ~2 KB.
 */
static size_t
svc_lobby_pipeline_bytes(const struct svc_lobby_notes *q)
{
    size_t i, n = SVC_LOBBY_AFTER_BYTES;

    for (i = 0; i < q->n; i++) {
        n += 2 * strlen(q->item[i].payload) + SVC_LOBBY_ITEM_BYTES;
    }
    return n;
}

/*
 * One round trip: the events, then the transition's other-slot work
 * (last: lob_after_recv may run a script again alone). What fails goes
 * again one by one.
 */
static void
svc_lobby_flush(struct gw_request *r, struct svc_lobby_notes *q,
                struct lob_result *res)
{
    struct gw_redis *rd = &r->thr->redis;
    size_t           i, sent = 0;
    int              rc = gw_redis_connect(rd), nafter = 0, *ok;

    ok = gw_arena_calloc(r->arena, sizeof(int) * (q->n + 1));
    if (rc == GW_OK && ok != NULL) {
        gw_redis_reserve(rd, svc_lobby_pipeline_bytes(q));
        sent = svc_lobby_append(r, q);
        nafter = lob_after_send(rd, r->arena, r->cfg, res);
    }
    for (i = 0; i < sent; i++) {
        rc = ntf_append_read(rd, q->item[i].id);
        if (rc == GW_EUNAVAIL) {
            break; /* the rest of the pipeline is gone: one by one below */
        }
        ok[i] = rc == GW_OK;
    }
    if (nafter > 0) {
        lob_after_recv(rd, r->arena, r->cfg, res, nafter);
    }
    for (i = 0; i < q->n; i++) {
        if ((ok == NULL || !ok[i])
            && ntf_send(rd, q->item[i].user, q->item[i].type,
                        q->item[i].payload, NULL)
                != GW_OK) {
            gw_log_warn(r->request_id, "%s to %s not sent", q->item[i].type,
                        q->item[i].user);
        }
    }
    q->n = 0;
}

/*
 * Event payloads are JSON objects printed straight into one buffer: the
 * fields every lobby event has (lobby, game, seats) once per request, then
 * each event's own. (A cJSON tree per event, printed and deleted, was 5%
 * of the worker's CPU on the join+leave row.) The keys, their order and
 * the integers are what cJSON printed; strings go through gw_json_escape,
 * which writes the same text as cJSON did for ids, words and titles
 * without control characters (cJSON wrote \n where it writes \u000a).
 */
struct svc_lobby_pl {
    struct gw_buf *b;
    size_t         head; /* bytes of the common fields in b */
};

static int
svc_lobby_pl_init(struct gw_request *r, struct svc_lobby_pl *pl,
                  const struct lob_lobby *l)
{
    pl->b = gw_arena_buf_new(r->arena);
    if (pl->b == NULL || gw_buf_appends(pl->b, "{\"lobby_id\":") != 0
        || gw_buf_append_json_str(pl->b, l->id) != 0
        || gw_buf_printf(pl->b, ",\"game_id\":%lld,\"game_title\":",
                         (long long) l->game_id)
            != 0
        || gw_buf_append_json_str(pl->b, l->game_title ? l->game_title : "")
            != 0
        || gw_buf_printf(pl->b, ",\"seats_taken\":%lld,\"seats_total\":%lld",
                         (long long) l->nmembers, (long long) l->max_players)
            != 0) {
        return -1;
    }
    pl->head = pl->b->len;
    return 0;
}

/*
 * The payload: the common fields, then n name/value pairs (kv[2i] the
 * name, kv[2i + 1] a string value), in the arena. NULL out of memory.
 */
static const char *
svc_lobby_pl(struct gw_request *r, struct svc_lobby_pl *pl,
             const char *const *kv, size_t n)
{
    size_t i;

    if (pl->b == NULL) {
        return NULL;
    }
    pl->b->len = pl->head;
    for (i = 0; i < n; i++) {
        if (gw_buf_appends(pl->b, ",\"") != 0
            || gw_buf_appends(pl->b, kv[2 * i]) != 0
            || gw_buf_appends(pl->b, "\":") != 0
            || gw_buf_append_json_str(pl->b, kv[2 * i + 1]) != 0) {
            return NULL;
        }
    }
    if (gw_buf_appends(pl->b, "}") != 0) {
        return NULL;
    }
    return gw_arena_strndup(r->arena, pl->b->data, pl->b->len);
}

/* To every member but skip (and to extra, when not NULL). */
static void
svc_lobby_fanout(struct gw_request *r, struct svc_lobby_notes *q,
                 const struct lob_lobby *l, const char *type,
                 const char *payload, const char *skip, const char *extra)
{
    size_t i;

    for (i = 0; i < l->nmembers; i++) {
        if (skip == NULL || strcmp(l->members[i].user_id, skip) != 0) {
            svc_lobby_send(r, q, l->members[i].user_id, type, payload);
        }
    }
    if (extra != NULL) {
        svc_lobby_send(r, q, extra, type, payload);
    }
}

static void
svc_lobby_invited(struct gw_request *r, struct svc_lobby_notes *q,
                  struct svc_lobby_pl *pl, const struct lob_lobby *l,
                  const struct lob_event *e)
{
    const char *kv[8];
    char        ts[32];

    gw_time_rfc3339_ms(l->active_ms + r->cfg->janitor.lobby_idle_s * 1000, ts,
                       sizeof(ts));
    kv[0] = "lobby_name", kv[1] = l->name ? l->name : "";
    kv[2] = "inviter", kv[3] = e->other ? e->other : "";
    kv[4] = "from_user", kv[5] = kv[3];
    kv[6] = "expires_at", kv[7] = ts;
    svc_lobby_send(r, q, e->user, "lobby.invited", svc_lobby_pl(r, pl, kv, 4));
}

/* The notifications of one event (none for a lobby closing). */
static void
svc_lobby_event(struct gw_request *r, struct svc_lobby_notes *q,
                struct svc_lobby_pl *pl, const struct lob_lobby *l,
                const struct lob_event *e)
{
    const char *kv[4], *why = e->other ? e->other : "left";

    switch (e->kind) {
    case LOB_EV_JOINED:
        kv[0] = "user_id", kv[1] = e->user;
        svc_lobby_fanout(r, q, l, "lobby.member_joined",
                         svc_lobby_pl(r, pl, kv, 1), e->user, NULL);
        break;
    case LOB_EV_LEFT:
        kv[0] = "user_id", kv[1] = e->user, kv[2] = "reason", kv[3] = why;
        /* The kicked or evicted member is told too. */
        svc_lobby_fanout(r, q, l, "lobby.member_left",
                         svc_lobby_pl(r, pl, kv, 2), NULL,
                         strcmp(why, "left") != 0 ? e->user : NULL);
        break;
    case LOB_EV_OWNER:
        kv[0] = "owner", kv[1] = e->user;
        kv[2] = "previous_owner", kv[3] = e->other ? e->other : "";
        svc_lobby_fanout(r, q, l, "lobby.owner_changed",
                         svc_lobby_pl(r, pl, kv, 2), NULL, NULL);
        break;
    case LOB_EV_INVITED:
        svc_lobby_invited(r, q, pl, l, e);
        break;
    case LOB_EV_CLOSED:
        break;
    }
}

void
svc_lobby_events(struct gw_request *r, struct lob_result *res)
{
    const struct lob_lobby *l = &res->lobby;
    struct svc_lobby_notes *q;
    struct svc_lobby_pl     pl = {NULL, 0};
    size_t                  i, cap;

    if (l->id == NULL) {
        return;
    }
    /* Each event tells every member and at most one more user. (A fixed
     * array of SVC_LOBBY_NOTES_MAX was 12 KB zeroed per request, beyond
     * the arena's first chunk.) */
    cap = res->nevents * (l->nmembers + 1);
    cap = cap > SVC_LOBBY_NOTES_MAX ? SVC_LOBBY_NOTES_MAX : cap;
    q = gw_arena_alloc(r->arena, sizeof(*q));
    if (q == NULL
        || (q->item = gw_arena_alloc(r->arena, sizeof(*q->item) * (cap + 1)))
            == NULL) {
        lob_after(&r->thr->redis, r->arena, r->cfg, res);
        return;
    }
    q->n = 0, q->cap = cap;
    if (res->nevents > 0 && svc_lobby_pl_init(r, &pl, l) != 0) {
        pl.b = NULL; /* each event is logged as not sent */
    }
    for (i = 0; i < res->nevents; i++) {
        if (res->events[i].user != NULL) {
            svc_lobby_event(r, q, &pl, l, &res->events[i]);
        }
    }
    if (q->n > 0 || res->lobby.index_due || res->unclaim != NULL) {
        svc_lobby_flush(r, q, res);
    }
}

/* The body's name: valid UTF-8 without NUL or controls. */
static int
svc_lobby_name(struct gw_request *r, const char **name)
{
    const char *why = NULL;
    int         rc;

    /* A "\u0000" escape (cJSON would cut the name at it) never gets here:
     * gw_json_text_check refuses the body. */
    rc = gw_json_get_str(r->arena, r->json, "name", 0, LOB_NAME_MAX, name, NULL,
                         &why);
    if (rc != GW_OK) {
        gw_request_problem(r, "%s", why);
        return rc;
    }
    if (*name != NULL && !lob_text_valid(*name, strlen(*name))) {
        gw_request_problem(r,
                           "'name' must be UTF-8 text without control"
                           " characters");
        return GW_EINVAL;
    }
    return GW_OK;
}

/* game_id → the game's title and player range (404 / 400 when not one). */
static int
svc_lobby_game(struct gw_request *r, struct lob_new *n)
{
    struct cat_item item;
    const char     *why = NULL;
    int             rc;

    rc = gw_json_get_i64(r->arena, r->json, "game_id", 1, 1, GW_JSON_INT_MAX,
                         &n->game_id, NULL, &why);
    if (rc != GW_OK) {
        gw_request_problem(r, "%s", why);
        return rc;
    }
    rc = cat_item_find(&r->thr->db, r->arena, n->game_id, 1, &item);
    if (rc == GW_ENOTFOUND) {
        gw_request_problem(r, "no such game");
    }
    if (rc != GW_OK) {
        return rc;
    }
    if (strcmp(item.kind, "game") != 0) {
        gw_request_problem(r, "item %lld is not a game",
                           (long long) n->game_id);
        return GW_EINVAL;
    }
    n->game_title = item.title;
    n->name = item.title;
    n->min_players =
        item.min_players > 0 ? item.min_players : SVC_LOBBY_MIN_PLAYERS;
    n->max_players = item.max_players > 0 ? item.max_players : LOB_PLAYERS_MAX;
    if (n->max_players > LOB_PLAYERS_MAX) {
        n->max_players = LOB_PLAYERS_MAX;
    }
    return GW_OK;
}

/* POST /v1/lobbies and quick-match: the body's lobby wishes. */
static int
svc_lobby_new(struct gw_request *r, struct lob_new *n, int full)
{
    const char *why = NULL, *vis = NULL, *name = NULL;
    int64_t     max = 0;
    int         has_max = 0, rc;

    memset(n, 0, sizeof(*n));
    rc = svc_lobby_game(r, n);
    if (rc != GW_OK || !full) {
        return rc;
    }
    rc = gw_json_get_i64(r->arena, r->json, "max_players", 0, 1,
                         GW_JSON_INT_MAX, &max, &has_max, &why);
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "visibility", 0, 16, &vis, NULL,
                             &why);
    }
    if (rc != GW_OK) {
        gw_request_problem(r, "%s", why);
        return rc;
    }
    if (has_max && (max < n->min_players || max > n->max_players)) {
        gw_request_problem(r, "max_players must be %lld to %lld for this game",
                           (long long) n->min_players,
                           (long long) n->max_players);
        return GW_EINVAL;
    }
    if (vis != NULL && strcmp(vis, "public") != 0
        && strcmp(vis, "private") != 0) {
        gw_request_problem(r, "visibility must be public or private");
        return GW_EINVAL;
    }
    rc = svc_lobby_name(r, &name);
    if (rc != GW_OK) {
        return rc;
    }
    n->max_players = has_max ? max : n->max_players;
    n->private_ = vis != NULL && strcmp(vis, "private") == 0;
    n->name = name != NULL ? name : n->name;
    return GW_OK;
}

/* Common tail of every transition: events, then the lobby or the error. */
static int
svc_lobby_done(struct gw_request *r, int rc, struct lob_result *res, int status)
{
    svc_lobby_events(r, res);
    if (rc != GW_OK) {
        return svc_lobby_refused(r, rc, res);
    }
    if (status == 204) {
        return gw_reply_raw(r, 204, NULL, NULL, 0) == 0 ? GW_OK : GW_ERROR;
    }
    return svc_lobby_reply(r, status, &res->lobby);
}

static struct lob_result *
svc_lobby_result(struct gw_request *r)
{
    struct lob_result *res = gw_arena_alloc(r->arena, sizeof(*res));

    if (res != NULL) {
        memset(res, 0, sizeof(*res));
    }
    return res;
}

int
svc_lobby_create(struct gw_request *r)
{
    struct lob_result *res = svc_lobby_result(r);
    struct lob_new     n;
    int                rc;

    if (res == NULL) {
        return GW_ERROR;
    }
    rc = svc_lobby_new(r, &n, 1);
    if (rc != GW_OK) {
        return rc;
    }
    rc = lob_create(&r->thr->redis, r->arena, r->cfg, r->user_id, &n, res);
    if (rc == GW_OK && res->lobby.id != NULL) {
        r->location =
            gw_arena_printf(r->arena, "/v1/lobbies/%s", res->lobby.id);
    }
    return svc_lobby_done(r, rc, res, 201);
}

int
svc_lobby_quick(struct gw_request *r)
{
    struct lob_result *res = svc_lobby_result(r);
    struct lob_new     n;
    int                rc;

    if (res == NULL) {
        return GW_ERROR;
    }
    rc = svc_lobby_new(r, &n, 0);
    if (rc != GW_OK) {
        return rc;
    }
    rc = lob_quick(&r->thr->redis, r->arena, r->cfg, r->user_id, &n, res);
    return svc_lobby_done(r, rc, res, 200);
}

int
svc_lobby_list(struct gw_request *r)
{
    const char   *game = gw_request_arg(r, "game_id");
    const char   *lim = gw_request_arg(r, "limit");
    const char   *items[LOB_LIST_LIMIT_MAX], *next;
    int64_t       game_id, limit = SVC_LOBBY_LIMIT_DEFAULT;
    size_t        n, i;
    struct gw_buf b = {0};
    int           rc;

    if (game == NULL || gw_parse_i64(game, strlen(game), &game_id) != 0
        || game_id < 1) {
        gw_request_problem(r, "game_id must be a game's id");
        return GW_EINVAL;
    }
    if (lim != NULL
        && (gw_parse_i64(lim, strlen(lim), &limit) != 0 || limit < 1
            || limit > LOB_LIST_LIMIT_MAX)) {
        gw_request_problem(r, "limit must be an integer from 1 to 100");
        return GW_EINVAL;
    }
    rc = lob_list(&r->thr->redis, r->arena, r->cfg, game_id,
                  gw_request_arg(r, "cursor"), limit, items, &n, &next);
    if (rc != GW_OK) {
        if (rc == GW_EINVAL) {
            gw_request_problem(r, "bad cursor");
        }
        return svc_lobby_refused(r, rc, NULL);
    }
    rc = gw_buf_appends(&b, "{\"items\":[");
    for (i = 0; rc == 0 && i < n; i++) {
        rc = (i ? gw_buf_appends(&b, ",") : 0) || gw_buf_appends(&b, items[i]);
    }
    if (rc == 0) {
        rc = gw_buf_appends(&b, "],\"next_cursor\":")
            || (next ? gw_buf_append_json_str(&b, next)
                     : gw_buf_appends(&b, "null"))
            || gw_buf_appends(&b, "}");
    }
    if (rc == 0) {
        rc = gw_reply_raw(r, 200, "application/json",
                          gw_arena_strndup(r->arena, b.data, b.len), b.len);
    }
    gw_buf_free(&b);
    return rc == 0 ? GW_OK : GW_ERROR;
}

int
svc_lobby_get(struct gw_request *r)
{
    struct lob_result *res = svc_lobby_result(r);
    const char        *id = svc_lobby_id(r);
    int                rc;

    if (id == NULL || res == NULL) {
        return id == NULL ? GW_ENOTFOUND : GW_ERROR;
    }
    rc = lob_get(&r->thr->redis, r->arena, r->cfg, id, r->user_id, res);
    return svc_lobby_done(r, rc, res, 200);
}

int
svc_lobby_join(struct gw_request *r)
{
    struct lob_result *res = svc_lobby_result(r);
    const char        *id = svc_lobby_id(r);
    int                rc;

    if (id == NULL || res == NULL) {
        return id == NULL ? GW_ENOTFOUND : GW_ERROR;
    }
    rc = lob_join(&r->thr->redis, r->arena, r->cfg, id, r->user_id, res);
    return svc_lobby_done(r, rc, res, 200);
}

int
svc_lobby_leave(struct gw_request *r)
{
    struct lob_result *res = svc_lobby_result(r);
    const char        *id = svc_lobby_id(r);
    int                rc;

    if (id == NULL || res == NULL) {
        return id == NULL ? GW_ENOTFOUND : GW_ERROR;
    }
    rc = lob_leave(&r->thr->redis, r->arena, r->cfg, id, r->user_id, res);
    return svc_lobby_done(r, rc, res, 204);
}

int
svc_lobby_ready(struct gw_request *r)
{
    struct lob_result *res = svc_lobby_result(r);
    const char        *id = svc_lobby_id(r), *why = NULL;
    int                ready = 0, rc;

    if (id == NULL || res == NULL) {
        return id == NULL ? GW_ENOTFOUND : GW_ERROR;
    }
    rc = gw_json_get_bool(r->arena, r->json, "ready", 1, &ready, NULL, &why);
    if (rc != GW_OK) {
        gw_request_problem(r, "%s", why);
        return rc;
    }
    rc =
        lob_ready(&r->thr->redis, r->arena, r->cfg, id, r->user_id, ready, res);
    return svc_lobby_done(r, rc, res, 200);
}

/* {"user_ids": [1..LOB_INVITES_MAX user ids]}; a user named twice is
 * invited (and notified) once. */
static int
svc_lobby_invitees(struct gw_request *r, const char **ids, size_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r->json, "user_ids");
    const cJSON *it;
    size_t       i;

    *n = 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1
        || cJSON_GetArraySize(arr) > LOB_INVITES_MAX) {
        gw_request_problem(r,
                           "'user_ids' must be an array of 1 to %d user"
                           " ids",
                           LOB_INVITES_MAX);
        return GW_EINVAL;
    }
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !lob_user_valid(it->valuestring)
            || strcmp(it->valuestring, r->user_id) == 0) {
            gw_request_problem(r, "'user_ids' holds an invalid user id");
            return GW_EINVAL;
        }
        for (i = 0; i < *n; i++) {
            if (strcmp(ids[i], it->valuestring) == 0) {
                break; /* named before */
            }
        }
        if (i == *n) {
            ids[(*n)++] = it->valuestring;
        }
    }
    return GW_OK;
}

int
svc_lobby_invite(struct gw_request *r)
{
    struct lob_result *res = svc_lobby_result(r);
    const char        *id = svc_lobby_id(r), *ids[LOB_INVITES_MAX];
    size_t             n;
    int                rc;

    if (id == NULL || res == NULL) {
        return id == NULL ? GW_ENOTFOUND : GW_ERROR;
    }
    rc = svc_lobby_invitees(r, ids, &n);
    if (rc != GW_OK) {
        return rc;
    }
    rc = lob_invite(&r->thr->redis, r->arena, r->cfg, id, r->user_id, ids, n,
                    res);
    svc_lobby_events(r, res);
    if (rc != GW_OK) {
        return svc_lobby_refused(r, rc, res);
    }
    return gw_reply_raw(r, 202, "application/json", "{\"invited\":true}", 16)
            == 0
        ? GW_OK
        : GW_ERROR;
}

int
svc_lobby_kick(struct gw_request *r)
{
    struct lob_result *res = svc_lobby_result(r);
    const char        *id = svc_lobby_id(r), *target = NULL, *why = NULL;
    int                rc;

    if (id == NULL || res == NULL) {
        return id == NULL ? GW_ENOTFOUND : GW_ERROR;
    }
    rc = gw_json_get_str(r->arena, r->json, "user_id", 1, GW_USER_ID_MAX,
                         &target, NULL, &why);
    if (rc != GW_OK || !lob_user_valid(target)) {
        gw_request_problem(r, "%s", why ? why : "'user_id' is not a user id");
        return GW_EINVAL;
    }
    rc =
        lob_kick(&r->thr->redis, r->arena, r->cfg, id, r->user_id, target, res);
    return svc_lobby_done(r, rc, res, 200);
}

int
svc_lobby_ticket(struct gw_request *r)
{
    struct lob_result *res = svc_lobby_result(r);
    const char        *id = svc_lobby_id(r);
    const char        *body;
    struct lob_lobby  *l;
    char               ticket[LOB_TICKET_MAX], ts[32];
    int64_t            exp;
    size_t             i;
    int                rc, member = 0;

    if (id == NULL || res == NULL) {
        return id == NULL ? GW_ENOTFOUND : GW_ERROR;
    }
    rc = lob_get(&r->thr->redis, r->arena, r->cfg, id, r->user_id, res);
    lob_after(&r->thr->redis, r->arena, r->cfg, res);
    if (rc != GW_OK) {
        return svc_lobby_refused(r, rc, res);
    }
    l = &res->lobby;
    for (i = 0; i < l->nmembers; i++) {
        member |= strcmp(l->members[i].user_id, r->user_id) == 0;
    }
    if (!member) {
        gw_request_problem(r, "only members of the lobby get a ticket");
        return GW_ENOTFOUND;
    }
    if (l->match_id == NULL || strcmp(l->state, "started") != 0) {
        gw_request_problem(r, "the lobby has not started");
        return GW_ECONFLICT;
    }
    exp = l->started_ms / 1000 + r->cfg->lobby.ticket_ttl_s;
    if (lob_ticket_make(r->cfg, id, l->match_id, r->user_id, l->host, l->port,
                        exp, ticket, sizeof(ticket))
        != GW_OK) {
        return GW_ERROR;
    }
    gw_time_rfc3339(exp, ts, sizeof(ts));
    body =
        gw_arena_printf(r->arena,
                        "{\"match_id\":\"%s\",\"server\":{\"host\":\"%s\","
                        "\"port\":%lld},\"ticket\":\"%s\",\"expires_at\":"
                        "\"%s\"}",
                        l->match_id, l->host, (long long) l->port, ticket, ts);
    return body != NULL
            && gw_reply_raw(r, 200, "application/json", body, strlen(body)) == 0
        ? GW_OK
        : GW_ERROR;
}
