/*
 * lob_lobby.c — the transitions: a claim on the user's key (another slot),
 * then the lobby's script, then the listing and released claims (other
 * slots), in that order. Round trips: a join is three (claim; script with
 * the claim's TTL refresh; listing + events, lob_after_send pipelined with
 * the caller's notifications), a leave two (script; listing + claim
 * release + events), other member transitions two.
 *
 * Why this order is Cluster-safe: a script may only touch keys of one
 * slot, so "one open lobby per user" cannot be checked inside the lobby's
 * script. The user's key is claimed FIRST (SET NX GET: taken, or the
 * claim already there, in one command; TTL = lobby_idle_s, refreshed
 * with every request of the member) with the value
 * "<lobby>.<token>", a fresh random token per claim; the lobby script then
 * takes a seat only under that token, and records it with the member.
 *
 * Fencing keeps the claim and the seat atomic across the two slots. A
 * claim found pointing at another lobby X is only moved away after X's
 * own script (LOB_FENCE) answered that the user is not a member of X AND
 * fenced its token there: a join or create still in flight with that
 * token (claimed, script not yet run) is then refused ("fenced") instead
 * of seating the user in X after the claim went to another lobby. Without
 * the fence, "not a member yet" and "stale" look the same, and a user
 * racing two joins ended in two lobbies (check; the other join seats;
 * then compare-and-set). A leave or kick fences the removed member's
 * token the same way, so a concurrent join reusing that claim cannot seat
 * again before the claim is released. Releases compare-and-delete the
 * exact "<lobby>.<token>" and so never release a newer claim. The bound
 * is the keys' TTL: a request stalled between its claim and its script
 * for longer than lobby_idle_s is not fenced any more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_log.h"
#include "gw_outbox.h"
#include "gw_status.h"
#include "lob_internal.h"

enum {
    LOB_M_ID,
    LOB_M_GAME,
    LOB_M_TITLE,
    LOB_M_NAME,
    LOB_M_OWNER,
    LOB_M_STATE,
    LOB_M_VIS,
    LOB_M_MAX,
    LOB_M_MIN,
    LOB_M_CREATED,
    LOB_M_ACTIVE,
    LOB_M_STARTED,
    LOB_M_ATTEMPT,
    LOB_M_MATCH,
    LOB_M_HOST,
    LOB_M_PORT,
    LOB_M_FIELDS
};

static const struct {
    const char *status;
    int         rc;
} lob_statuses[] = {
    {"ok", GW_OK},
    {"member", GW_OK},
    {"started", GW_OK},
    {"gone", GW_OK},
    {"not_found", GW_ENOTFOUND},
    {"full", GW_ELOBBY_FULL},
    {"closed", GW_ELOBBY_CLOSED},
    {"not_member", GW_EFORBIDDEN},
    {"not_owner", GW_ENOT_OWNER},
    {"starting", GW_ECONFLICT},
    {"too_few", GW_ECONFLICT},
    {"not_ready", GW_ECONFLICT},
    {"exists", GW_ECONFLICT},
    {"stale", GW_ECONFLICT},
    {"fenced", GW_EIN_LOBBY}, /* the claim went to another lobby meanwhile */
    {"self", GW_EINVAL},
    {"too_many", GW_EINVAL},
    {"no_target", GW_ENOTFOUND},
};

static int64_t
lob_i64(const redisReply *e)
{
    int64_t v = 0;

    if (e == NULL) {
        return 0;
    }
    if (e->type == REDIS_REPLY_INTEGER) {
        return e->integer;
    }
    if (e->type == REDIS_REPLY_STRING
        && gw_parse_i64(e->str, e->len, &v) == 0) {
        return v;
    }
    return 0;
}

static const char *
lob_str(const redisReply *e)
{
    return e != NULL && e->type == REDIS_REPLY_STRING ? e->str : NULL;
}

/* The hash's field names of LOB_M_* (the second layout's: lob_script.c). */
static const char *const lob_meta_names[LOB_M_FIELDS] = {
    "id",      "game_id",    "game_title", "name",
    "owner",   "st",         "visibility", "max",
    "min",     "created_ms", "active_ms",  "started_ms",
    "attempt", "match_id",   "host",       "port",
};

static void
lob_parse_meta(const redisReply *const *f, struct lob_lobby *l)
{
    l->id = lob_str(f[LOB_M_ID]);
    l->game_id = lob_i64(f[LOB_M_GAME]);
    l->game_title = lob_str(f[LOB_M_TITLE]);
    l->name = lob_str(f[LOB_M_NAME]);
    l->owner = lob_str(f[LOB_M_OWNER]);
    l->state = lob_str(f[LOB_M_STATE]);
    l->visibility = lob_str(f[LOB_M_VIS]);
    l->max_players = lob_i64(f[LOB_M_MAX]);
    l->min_players = lob_i64(f[LOB_M_MIN]);
    l->created_ms = lob_i64(f[LOB_M_CREATED]);
    l->active_ms = lob_i64(f[LOB_M_ACTIVE]);
    l->started_ms = lob_i64(f[LOB_M_STARTED]);
    l->attempt = lob_i64(f[LOB_M_ATTEMPT]);
    l->match_id = lob_str(f[LOB_M_MATCH]);
    l->host = lob_str(f[LOB_M_HOST]);
    l->port = lob_i64(f[LOB_M_PORT]);
}

/* A member's field "m:<user>" = "<seq> <joined ms> <ready> <token>". */
static int
lob_parse_member(const redisReply *f, const redisReply *v, struct lob_member *m)
{
    char *end;

    if (v->type != REDIS_REPLY_STRING || f->len < 3) {
        return -1;
    }
    m->user_id = f->str + 2;
    m->seq = strtoll(v->str, &end, 10);
    if (*end != ' ') {
        return -1;
    }
    m->joined_ms = strtoll(end + 1, &end, 10);
    if (*end != ' ') {
        return -1;
    }
    m->ready = end[1] == '1';
    return 0;
}

static int
lob_member_cmp(const void *x, const void *y)
{
    const struct lob_member *a = x, *b = y;

    return (a->seq > b->seq) - (a->seq < b->seq); /* oldest first */
}

/* The lobby from its hash (HGETALL: field, value, …). */
static void
lob_parse_hash(const redisReply *h, struct lob_lobby *l)
{
    const redisReply *meta[LOB_M_FIELDS] = {NULL};
    size_t            i;
    int               k;

    for (i = 0; i + 1 < h->elements; i += 2) {
        const redisReply *f = h->element[i], *v = h->element[i + 1];

        if (f->type != REDIS_REPLY_STRING) {
            continue;
        }
        if (f->len > 2 && f->str[0] == 'm' && f->str[1] == ':') {
            if (l->nmembers < LOB_PLAYERS_MAX
                && lob_parse_member(f, v, &l->members[l->nmembers]) == 0) {
                l->nmembers++;
            }
            continue;
        }
        for (k = 0; k < LOB_M_FIELDS; k++) {
            if (strcmp(f->str, lob_meta_names[k]) == 0) {
                meta[k] = v;
                break;
            }
        }
    }
    lob_parse_meta(meta, l);
    qsort(l->members, l->nmembers, sizeof(l->members[0]), lob_member_cmp);
}

static void
lob_parse_events(const redisReply *evs, struct lob_result *out)
{
    static const char *const kinds[] = {"joined", "left", "owner", "invited",
                                        "closed"};
    size_t                   i, k;

    for (i = 0; i < evs->elements && out->nevents < LOB_EVENTS_MAX; i++) {
        const redisReply *e = evs->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 3) {
            continue;
        }
        for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            if (lob_str(e->element[0]) != NULL
                && strcmp(lob_str(e->element[0]), kinds[k]) == 0) {
                out->events[out->nevents].kind = (enum lob_event_kind) k;
                out->events[out->nevents].user = lob_str(e->element[1]);
                out->events[out->nevents].other = lob_str(e->element[2]);
                out->nevents++;
                break;
            }
        }
    }
}

/*
 * Parses a lobby script's answer {status, events, extra} and the lobby
 * (hash: the HGETALL after it; not read for a lobby the user may not
 * see). Returns the status it maps to.
 */
static int
lob_parse(const redisReply *rep, const redisReply *hash, struct lob_result *out)
{
    const redisReply *extra;
    const char       *status;
    size_t            i;

    memset(out, 0, sizeof(*out));
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3
        || (status = lob_str(rep->element[0])) == NULL
        || rep->element[1]->type != REDIS_REPLY_ARRAY
        || rep->element[2]->type != REDIS_REPLY_ARRAY) {
        return GW_ERROR;
    }
    out->status = status;
    lob_parse_events(rep->element[1], out);
    if (hash != NULL && hash->type == REDIS_REPLY_ARRAY
        && strcmp(status, "not_found") != 0) {
        lob_parse_hash(hash, &out->lobby);
    }
    extra = rep->element[2];
    if (extra->elements >= 2) {
        out->lobby.index_due = lob_i64(extra->element[0]) == 1;
        if (lob_i64(extra->element[1]) > 0) {
            out->lobby.attempt = lob_i64(extra->element[1]);
        }
    }
    if (extra->elements >= 3 && lob_str(extra->element[2]) != NULL
        && extra->element[2]->len > 0) {
        out->removed_token = lob_str(extra->element[2]);
    }
    for (i = 0; i < sizeof(lob_statuses) / sizeof(lob_statuses[0]); i++) {
        if (strcmp(lob_statuses[i].status, status) == 0) {
            return lob_statuses[i].rc;
        }
    }
    return GW_ERROR;
}

/*
 * What every script on lobby id starts with: its keys (kp points into
 * keys) and the LOB_HEAD_ARGS of ARGV = now, idle, closed ttl (ms, as
 * text in num), user, "(<now - idle>" (members seen before it are idle).
 */
static void
lob_script_head(const struct gw_config *cfg, const char *id, const char *user,
                char        keys[LOB_LOBBY_KEYS][LOB_KEY_MAX],
                const char *kp[LOB_LOBBY_KEYS], char num[4][LOB_NUM_MAX + 1],
                const char **argv)
{
    int64_t now = gw_now_ms(), idle = cfg->janitor.lobby_idle_s * 1000;
    int     i;

    lob_keys_lobby(id, keys);
    for (i = 0; i < LOB_LOBBY_KEYS; i++) {
        kp[i] = keys[i];
    }
    gw_i64_text(num[0], now);
    gw_i64_text(num[1], idle);
    gw_i64_text(num[2], cfg->lobby.closed_ttl_s * 1000);
    num[3][0] = '(';
    gw_i64_text(num[3] + 1, now - idle);
    argv[0] = num[0];
    argv[1] = num[1];
    argv[2] = num[2];
    argv[3] = user;
    argv[4] = num[3];
}

/* Runs a lobby script: ARGV = now, idle, closed ttl, user, args… */
static int
lob_run(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
        enum lob_script_id s, const char *id, const char *user,
        const char *const *args, int nargs, int refresh, struct lob_result *out)
{
    char        keys[LOB_LOBBY_KEYS][LOB_KEY_MAX], ukey[LOB_KEY_MAX];
    char        num[4][LOB_NUM_MAX + 1];
    const char *kp[LOB_LOBBY_KEYS], *argv[LOB_ARGS_MAX];
    redisReply *rep, *hash;
    int         i, rc;

    if (nargs + LOB_HEAD_ARGS > LOB_ARGS_MAX) {
        return GW_EINVAL;
    }
    lob_script_head(cfg, id, user, keys, kp, num, argv);
    for (i = 0; i < nargs; i++) {
        argv[LOB_HEAD_ARGS + i] = args[i];
    }
    lob_key_user(user, ukey);
    rc = lob_eval_render(r, a, s, LOB_LOBBY_KEYS, kp, nargs + LOB_HEAD_ARGS,
                         argv, keys[0], refresh ? ukey : NULL,
                         cfg->janitor.lobby_idle_s * 1000, &rep, &hash);
    if (rc != GW_OK) {
        return rc;
    }
    rc = lob_parse(rep, hash, out);
    if (rc == GW_OK && out->lobby.id == NULL) {
        rc = GW_ENOTFOUND;
    }
    return rc;
}

void
lob_unclaim(struct gw_redis *r, struct gw_arena *a, const char *user,
            const char *value)
{
    char        key[LOB_KEY_MAX];
    const char *kp[1] = {key}, *argv[1] = {value};
    redisReply *rep;

    if (value == NULL) { /* out of memory naming it */
        gw_log_warn(r->rid, "claim of %s not undone (expires)", user);
        return;
    }
    lob_key_user(user, key);
    if (lob_eval(r, a, LOB_S_USER_DEL, 1, kp, 1, argv, NULL, 0, &rep)
        != GW_OK) {
        gw_log_warn(r->rid, "claim %s of %s not undone (expires)", value, user);
    }
}

/*
 * Asks lobby other whether user's claim with token is live (the user is a
 * member there, open or starting); when not, the token is fenced there
 * before this returns (LOB_FENCE), so the claim may move.
 */
static int
lob_fence(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
          const char *user, const char *other, const char *token, int *live)
{
    char        keys[LOB_LOBBY_KEYS][LOB_KEY_MAX], num[4][LOB_NUM_MAX + 1];
    const char *kp[LOB_LOBBY_KEYS], *argv[LOB_HEAD_ARGS + 1];
    redisReply *rep;
    int         rc;

    lob_script_head(cfg, other, user, keys, kp, num, argv);
    argv[LOB_HEAD_ARGS] = token;
    rc = lob_eval(r, a, LOB_S_FENCE, LOB_LOBBY_KEYS, kp, LOB_HEAD_ARGS + 1,
                  argv, NULL, 0, &rep);
    if (rc == GW_OK && rep->type != REDIS_REPLY_INTEGER) {
        rc = GW_ERROR;
    }
    *live = rc == GW_OK && rep->integer == 1;
    return rc;
}

/* Splits a claim "<lobby>.<token>" (or an old "<lobby>") in the arena. */
static int
lob_claim_split(struct gw_arena *a, const char *v, const char **lobby,
                const char **token)
{
    char *c = gw_arena_strdup(a, v), *dot;

    if (c == NULL) {
        return GW_ERROR;
    }
    dot = strchr(c, '.');
    *token = "";
    if (dot != NULL) {
        *dot = '\0';
        *token = dot + 1;
    }
    *lobby = c;
    return GW_OK;
}

/*
 * Claims the user's one open lobby for id under a token (*token, in the
 * arena). *had = 1 when the user's claim was already this lobby's (its
 * token is kept, unless it is dead: fenced there, then it is replaced).
 * GW_EIN_LOBBY when the claim is another live lobby's.
 */
static int
lob_claim(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
          const char *user, const char *id, const char *dead,
          const char **token, int *had)
{
    char          key[LOB_KEY_MAX], ttl[24], want[LOB_CLAIM_MAX];
    char          fresh[LOB_TOKEN_LEN + 1];
    unsigned char rnd[LOB_TOKEN_LEN / 2];
    const char   *kp[1] = {key}, *argv[3], *other, *tok;
    const char   *set[7] = {"SET", key, want, "NX", "GET", "PX", ttl};
    size_t        setlen[7];
    redisReply   *rep;
    int           tries, rc, live, i;

    *had = 0;
    if (gw_random_bytes(rnd, sizeof(rnd)) != 0) {
        return GW_ERROR;
    }
    gw_hex_encode(rnd, sizeof(rnd), fresh);
    snprintf(want, sizeof(want), "%s.%s", id, fresh);
    *token = gw_arena_strdup(a, fresh);
    lob_key_user(user, key);
    snprintf(ttl, sizeof(ttl), "%lld",
             (long long) cfg->janitor.lobby_idle_s * 1000);
    for (i = 0; i < 7; i++) {
        setlen[i] = strlen(set[i]);
    }
    for (tries = 0; *token != NULL && tries < LOB_USER_CLAIM_TRIES; tries++) {
        /* One round trip: set when free (nil), else the claim there. */
        rc = gw_redis_cmdv(r, a, &rep, 7, set, setlen);
        if (rc != GW_OK || rep->type == REDIS_REPLY_NIL) {
            return rc;
        }
        if (rep->type != REDIS_REPLY_STRING) {
            return GW_ERROR;
        }
        argv[0] = gw_arena_strdup(a, rep->str);
        if (argv[0] == NULL
            || lob_claim_split(a, argv[0], &other, &tok) != GW_OK) {
            return GW_ERROR;
        }
        if (strcmp(other, id) == 0
            && (dead == NULL || strcmp(tok, dead) != 0)) {
            *had = 1;
            *token = tok;
            return GW_OK;
        }
        if (strcmp(other, id) != 0) {
            rc = lob_fence(r, a, cfg, user, other, tok, &live);
            if (rc != GW_OK) {
                return rc;
            }
            if (live) {
                return GW_EIN_LOBBY;
            }
        } /* else: this lobby's claim with a token fenced here */
        argv[1] = want;
        argv[2] = ttl;
        rc = lob_eval(r, a, LOB_S_USER_CAS, 1, kp, 3, argv, NULL, 0, &rep);
        if (rc != GW_OK || lob_i64(rep) == 1) {
            return rc;
        }
    }
    return *token == NULL ? GW_ERROR : GW_ECONFLICT;
}

static int
lob_player_args(const struct lob_new *n, const char *id, char *game, char *max,
                char *min, const char **argv)
{
    snprintf(game, 24, "%lld", (long long) n->game_id);
    snprintf(max, 24, "%lld", (long long) n->max_players);
    snprintf(min, 24, "%lld", (long long) n->min_players);
    argv[0] = id;
    argv[1] = game;
    argv[2] = n->game_title;
    argv[3] = n->name;
    argv[4] = n->private_ ? "private" : "public";
    argv[5] = max;
    argv[6] = min;
    return 7;
}

int
lob_create(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
           const char *user, const struct lob_new *n, struct lob_result *out)
{
    char        id[GW_NOTIF_ID_LEN + 1], game[24], max[24], min[24];
    const char *argv[8], *token;
    int         had, rc, nargs;

    gw_outbox_id_new(id); /* time-ordered: listing ties break by id */
    rc = lob_claim(r, a, cfg, user, id, NULL, &token, &had);
    if (rc != GW_OK) {
        return rc;
    }
    nargs = lob_player_args(n, id, game, max, min, argv);
    argv[nargs++] = token;
    rc = lob_run(r, a, cfg, LOB_S_CREATE, id, user, argv, nargs, 0, out);
    if (rc != GW_OK) {
        lob_unclaim(r, a, user, gw_arena_printf(a, "%s.%s", id, token));
    }
    return rc; /* the listing: lob_after */
}

int
lob_get(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
        const char *id, const char *user, struct lob_result *out)
{
    return lob_run(r, a, cfg, LOB_S_GET, id, user, NULL, 0, 1, out);
}

int
lob_join(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
         const char *id, const char *user, struct lob_result *out)
{
    const char *token, *dead = NULL;
    int         had, rc = GW_ECONFLICT, tries;

    for (tries = 0; tries < LOB_USER_CLAIM_TRIES; tries++) {
        rc = lob_claim(r, a, cfg, user, id, dead, &token, &had);
        if (rc != GW_OK) {
            return rc;
        }
        /* A claim taken just now has its whole TTL: refresh only one
         * that was there before. */
        rc = lob_run(r, a, cfg, LOB_S_JOIN, id, user, &token, 1, had, out);
        if (rc != GW_EIN_LOBBY) {
            break;
        }
        dead = token; /* fenced here: claim again (lob_claim decides) */
    }
    if (rc != GW_OK && !had) {
        lob_unclaim(r, a, user, gw_arena_printf(a, "%s.%s", id, token));
    }
    return rc;
}

/* The removed member's claim, released by lob_after (exactly its own). */
static void
lob_unclaim_later(struct gw_arena *a, struct lob_result *out, const char *user)
{
    if (out->removed_token == NULL) {
        return; /* gone already, or "gone": nothing of ours to release */
    }
    out->unclaim = user;
    out->unclaim_value =
        gw_arena_printf(a, "%s.%s", out->lobby.id, out->removed_token);
    if (out->unclaim_value == NULL) {
        out->unclaim = NULL; /* the claim expires, or is found stale */
    }
}

int
lob_leave(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
          const char *id, const char *user, struct lob_result *out)
{
    int rc = lob_run(r, a, cfg, LOB_S_LEAVE, id, user, NULL, 0, 0, out);

    if (rc == GW_OK) {
        lob_unclaim_later(a, out, user); /* lob_after */
    }
    return rc;
}

int
lob_ready(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
          const char *id, const char *user, int ready, struct lob_result *out)
{
    const char *argv[1] = {ready ? "1" : "0"};
    int         rc;

    rc = lob_run(r, a, cfg, LOB_S_READY, id, user, argv, 1, 1, out);
    return rc;
}

int
lob_invite(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
           const char *id, const char *user, const char *const *invitees,
           size_t n, struct lob_result *out)
{
    const char *argv[1 + LOB_INVITES_MAX];
    char        max[24];
    size_t      i;

    if (n == 0 || n > LOB_INVITES_MAX) {
        return GW_EINVAL;
    }
    snprintf(max, sizeof(max), "%d", LOB_INVITEES_MAX);
    argv[0] = max;
    for (i = 0; i < n; i++) {
        argv[1 + i] = invitees[i];
    }
    return lob_run(r, a, cfg, LOB_S_INVITE, id, user, argv, (int) n + 1, 1,
                   out);
}

int
lob_kick(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
         const char *id, const char *user, const char *target,
         struct lob_result *out)
{
    const char *argv[1] = {target};
    int         rc;

    rc = lob_run(r, a, cfg, LOB_S_KICK, id, user, argv, 1, 1, out);
    if (rc == GW_OK) {
        lob_unclaim_later(a, out, target); /* lob_after */
    }
    return rc;
}

int
lob_start_begin(struct gw_redis *r, struct gw_arena *a,
                const struct gw_config *cfg, const char *id, const char *user,
                struct lob_result *out)
{
    char        ms[24];
    const char *argv[1] = {ms};
    int         rc;

    snprintf(ms, sizeof(ms), "%lld",
             (long long) cfg->lobby.start_timeout_s * 1000);
    rc = lob_run(r, a, cfg, LOB_S_START_BEGIN, id, user, argv, 1, 1, out);
    if (rc == GW_OK) {
        lob_after(r, a, cfg, out);
    }
    return rc;
}

int
lob_start_finish(struct gw_redis *r, struct gw_arena *a,
                 const struct gw_config *cfg, const char *id, int64_t attempt,
                 const char *match_id, const char *host, int64_t port,
                 int64_t started_ms, struct lob_result *out)
{
    char        att[24], p[24], st[24], ukey[LOB_KEY_MAX];
    const char *argv[5] = {att, match_id, host, p, st}, *kp[1] = {ukey};
    redisReply *rep;
    size_t      i, n;
    int         rc, noscript = 0;

    snprintf(att, sizeof(att), "%lld", (long long) attempt);
    snprintf(p, sizeof(p), "%lld", (long long) port);
    snprintf(st, sizeof(st), "%lld", (long long) started_ms);
    rc = lob_run(r, a, cfg, LOB_S_START_FINISH, id, "-", argv, 5, 0, out);
    if (rc != GW_OK) {
        return rc;
    }
    argv[0] = id; /* USER_DEL: ARGV[1] = the lobby */
    /* A started lobby is no longer "open": its members may join others
     * (every claim released in one pipelined round trip). */
    if (gw_redis_connect(r) != GW_OK) {
        return GW_OK; /* the claims expire, or the next join finds them stale */
    }
    for (i = 0; i < out->lobby.nmembers; i++) {
        lob_key_user(out->lobby.members[i].user_id, ukey);
        if (lob_append(r, LOB_S_USER_DEL, 1, kp, 1, argv) != 0) {
            break;
        }
    }
    for (n = i, i = 0; i < n; i++) {
        if (gw_redis_pipeline_get(r, &rep) == GW_EUNAVAIL) {
            break;
        }
        noscript |= lob_is_noscript(rep);
        freeReplyObject(rep);
    }
    for (i = 0; noscript && i < out->lobby.nmembers; i++) {
        lob_unclaim(r, a, out->lobby.members[i].user_id, id);
    }
    return GW_OK;
}

int
lob_start_abort(struct gw_redis *r, struct gw_arena *a,
                const struct gw_config *cfg, const char *id, int64_t attempt)
{
    struct lob_result *res = gw_arena_alloc(a, sizeof(*res));
    char               att[24];
    const char        *argv[1] = {att};
    int                rc;

    if (res == NULL) {
        return GW_ERROR;
    }
    snprintf(att, sizeof(att), "%lld", (long long) attempt);
    rc = lob_run(r, a, cfg, LOB_S_START_ABORT, id, "-", argv, 1, 0, res);
    if (rc == GW_OK) {
        lob_index_update(r, a, cfg, &res->lobby);
    }
    return rc;
}

int
lob_after_send(struct gw_redis *r, struct gw_arena *a,
               const struct gw_config *cfg, struct lob_result *res)
{
    struct lob_row *row;
    char            ukey[LOB_KEY_MAX];
    const char     *kp[1], *argv[1];
    int             n = 0;

    res->after_index = res->after_unclaim = 0;
    if (res->lobby.id == NULL) {
        return 0;
    }
    row = res->lobby.index_due ? gw_arena_alloc(a, sizeof(*row)) : NULL;
    if (row != NULL) {
        lob_json_get(cfg, a, &res->lobby); /* the response uses it too */
    }
    if (row != NULL && lob_row_args(cfg, &res->lobby, row) == 1) {
        res->after_index = lob_row_append(r, row);
        n += res->after_index;
    }
    if (row != NULL) {
        gw_buf_free(&row->member);
    }
    if (res->unclaim != NULL) {
        lob_key_user(res->unclaim, ukey);
        kp[0] = ukey;
        argv[0] = res->unclaim_value;
        res->after_unclaim = lob_append(r, LOB_S_USER_DEL, 1, kp, 1, argv) == 0;
        n += res->after_unclaim;
    }
    return n;
}

void
lob_after_recv(struct gw_redis *r, struct gw_arena *a,
               const struct gw_config *cfg, struct lob_result *res, int n)
{
    redisReply *rep;
    int         k, rc, redo[2] = {0, 0};

    for (k = 0; k < n; k++) {
        int which = k < res->after_index ? 0 : 1; /* the listing comes first */

        rc = gw_redis_pipeline_get(r, &rep);
        if (rc == GW_EUNAVAIL) {
            gw_log_warn(r->rid, "lobby %s: listing or claim not updated",
                        res->lobby.id);
            return;
        }
        redo[which] |= rc == GW_ERROR && lob_is_noscript(rep);
        if (rc == GW_ERROR && !redo[which]) {
            gw_log_warn(r->rid, "lobby %s: %s", res->lobby.id,
                        rep->str != NULL ? rep->str : "?");
        }
        freeReplyObject(rep);
    }
    /* After a Redis restart: alone, with SCRIPT LOAD (lob_eval). */
    if (redo[0]) {
        lob_index_update(r, a, cfg, &res->lobby);
    }
    if (redo[1]) {
        lob_unclaim(r, a, res->unclaim, res->unclaim_value);
    }
}

void
lob_after(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
          struct lob_result *res)
{
    int n;

    if (gw_redis_connect(r) != GW_OK) {
        return;
    }
    n = lob_after_send(r, a, cfg, res);
    if (n > 0) {
        lob_after_recv(r, a, cfg, res, n);
    }
}
