/*
 * lob.h — game lobbies in Redis (API.md "Game lobbies"; README "Lobbies").
 *
 * State lives in Redis only (lobbies are ephemeral; money never depends on
 * them: a paid start is recorded in MariaDB by store/store_start.c). Every
 * transition of one lobby is ONE Lua script over keys that all carry the
 * lobby id as a hash tag, so a transition is atomic and the design runs
 * unchanged on Redis Cluster:
 *
 *   vas:lobby:{<id>}        hash: id, game_id, game_title, name, owner,
 *                           st (the state), visibility, max, min,
 *                           created/active ms, attempt, seq, match…;
 *                           m:<member> -> "<seq> <joined ms> <ready>
 *                           <claim token>" (seq: join order, so the
 *                           longest-waiting is the lowest); i:<invitee>
 *   vas:lobby:{<id>}:s      zset member -> last seen ms (presence)
 *   vas:lobby:{<id>}:f      set of fenced claim tokens (never seated here)
 * (The first layout spread members, join times, ready flags and
 * invitees over four more keys; lob_script.c says why it changed.)
 *
 * Two things live in OTHER slots and are kept beside the lobby script
 * (never inside it), in a fixed order with compensation:
 *   vas:lobbyuser:{<user>}  "<lobby>.<token>": the user's one open lobby
 *                           (claimed with SET NX before a join/create
 *                           script, which seats only under an unfenced
 *                           token; undone by a compare-and-delete of
 *                           that value; moved only after the other lobby
 *                           fenced its token, lob_lobby.c)
 *   vas:lobbies:{g<game>}:rows / :exps  the public listing: one row per
 *                           listed lobby, "<created>.<id>.<expiry>.<JSON>"
 *                           in a zset whose lexical order is the list's,
 *                           and the rows' expiries (lob_internal.h); a
 *                           hint that the lobby scripts are the authority
 *                           for.
 *
 * Presence: every request of a member refreshes it (ZADD :s) and the keys'
 * TTLs; each script first evicts members silent for idle_ms (the scripts
 * do it, no janitor), so an idle lobby simply expires with its keys.
 * A transition's script and an HGETALL of the hash run in one MULTI/EXEC:
 * the script decides and writes, Redis renders (lob_script.c).
 *
 * Scripts are loaded once (SCRIPT LOAD, their SHA1 computed at init), run
 * with EVALSHA and re-loaded when Redis answers NOSCRIPT (after a restart
 * or SCRIPT FLUSH).
 *
 * Ownership: strings in results live in the caller's arena.
 * Thread-safety: lob_init() once before threads start; the rest uses only
 * the caller's connection. Errors: GW_ENOTFOUND, GW_ELOBBY_FULL,
 * GW_ELOBBY_CLOSED, GW_EIN_LOBBY, GW_ENOT_OWNER, GW_ECONFLICT (wrong state),
 * GW_EINVAL, GW_EUNAVAIL (Redis down), GW_ERROR.
 */
#ifndef LOB_H
#define LOB_H

#include <stddef.h>
#include <stdint.h>

#include "gw_arena.h"
#include "gw_config.h"
#include "gw_redis.h"
#include "gw_util.h"

#define LOB_ID_LEN           32 /* lower-case hex */
#define LOB_PLAYERS_MAX      64
#define LOB_NAME_MAX         64 /* bytes of a lobby name */
#define LOB_INVITES_MAX      16 /* user ids in one invite */
#define LOB_INVITEES_MAX     64 /* invitees a lobby remembers */
#define LOB_LIST_LIMIT_MAX   100
#define LOB_LIST_SCAN_MAX    400 /* index entries one listing looks at */
#define LOB_QUICK_CANDIDATES 20
#define LOB_EVENTS_MAX       (LOB_PLAYERS_MAX * 2 + LOB_INVITES_MAX + 4)
#define LOB_CURSOR_MAX       64
#define LOB_MATCH_ID_MAX     64
#define LOB_HOST_MAX         255
#define LOB_TICKET_MAX       1024
#define LOB_USER_CLAIM_TRIES 3

struct lob_member {
    const char *user_id;
    int64_t     seq; /* join order */
    int64_t     joined_ms;
    int         ready;
};

struct lob_lobby {
    const char       *id;
    int64_t           game_id;
    const char       *game_title;
    const char       *name;
    const char       *owner;
    const char       *state; /* open | starting | started | closed */
    const char       *visibility;
    int64_t           max_players, min_players;
    int64_t           created_ms, active_ms, started_ms;
    int64_t           attempt;  /* start attempts so far */
    const char       *match_id; /* NULL until started */
    const char       *host;
    int64_t           port;
    struct lob_member members[LOB_PLAYERS_MAX];
    size_t            nmembers;
    int               index_due; /* the listing entry needs refreshing */
    const char       *json;      /* lob_json_get's text (arena), or NULL */
    size_t            json_len;
};

/* What a transition did, for the notifications the caller sends. */
enum lob_event_kind {
    LOB_EV_JOINED,  /* user joined */
    LOB_EV_LEFT,    /* user left; why = "left" | "kicked" | "idle" */
    LOB_EV_OWNER,   /* user is the new owner; other = the old one */
    LOB_EV_INVITED, /* user was invited */
    LOB_EV_CLOSED
};

struct lob_event {
    enum lob_event_kind kind;
    const char         *user;
    const char         *other; /* LEFT: why; OWNER: previous owner */
};

struct lob_result {
    const char      *status; /* the script's word ("ok", "full"…) */
    struct lob_lobby lobby;
    struct lob_event events[LOB_EVENTS_MAX];
    size_t           nevents;
    /* Left for lob_after (other slots): the claim of this user on
     * lobby.id is released (a member left or was kicked), compared with
     * unclaim_value ("<lobby>.<token>", the removed member's own claim);
     * the listing when lobby.index_due. */
    const char *unclaim;
    const char *unclaim_value;
    const char *removed_token; /* the removed member's claim token */
    int after_index;   /* replies of the listing put lob_after_send sent */
    int after_unclaim; /* 1: lob_after_send sent the claim's release */
};

/* What lob_create needs about the game (the caller read the catalog). */
struct lob_new {
    int64_t     game_id;
    const char *game_title;
    const char *name; /* valid UTF-8, 1..LOB_NAME_MAX bytes */
    int         private_;
    int64_t     max_players, min_players;
};

/* Computes the scripts' SHA1s. Before threads; 0 or -1. */
int lob_init(void);

/* 1 when s is a well-formed lobby id. */
int lob_id_valid(const char *s);

/* 1 when s is a usable IM user id (1..GW_USER_ID_MAX bytes of UTF-8,
 * no control characters). */
int lob_user_valid(const char *s);

/* 1 when s (n bytes) is well-formed UTF-8 without NUL or C0 controls. */
int lob_text_valid(const char *s, size_t n);

int lob_create(struct gw_redis *r, struct gw_arena *a,
               const struct gw_config *cfg, const char *user,
               const struct lob_new *n, struct lob_result *out);
/* Reads a lobby as user sees it (members refresh their presence). */
int lob_get(struct gw_redis *r, struct gw_arena *a, const struct gw_config *cfg,
            const char *id, const char *user, struct lob_result *out);
int lob_join(struct gw_redis *r, struct gw_arena *a,
             const struct gw_config *cfg, const char *id, const char *user,
             struct lob_result *out);
int lob_leave(struct gw_redis *r, struct gw_arena *a,
              const struct gw_config *cfg, const char *id, const char *user,
              struct lob_result *out);
int lob_ready(struct gw_redis *r, struct gw_arena *a,
              const struct gw_config *cfg, const char *id, const char *user,
              int ready, struct lob_result *out);
int lob_invite(struct gw_redis *r, struct gw_arena *a,
               const struct gw_config *cfg, const char *id, const char *user,
               const char *const *invitees, size_t n, struct lob_result *out);
int lob_kick(struct gw_redis *r, struct gw_arena *a,
             const struct gw_config *cfg, const char *id, const char *user,
             const char *target, struct lob_result *out);

/*
 * The public listing of a game: rendered lobby JSON texts (open, public,
 * with a free seat), newest first. cursor NULL or from a previous page;
 * *next (arena) NULL on the last page. GW_EINVAL for a bad cursor.
 */
int lob_list(struct gw_redis *r, struct gw_arena *a,
             const struct gw_config *cfg, int64_t game_id, const char *cursor,
             int64_t limit, const char **items, size_t *nitems,
             const char **next);

/*
 * Quick match: joins the fullest open public lobby of the game with a free
 * seat, else creates one from n.
 */
int lob_quick(struct gw_redis *r, struct gw_arena *a,
              const struct gw_config *cfg, const char *user,
              const struct lob_new *n, struct lob_result *out);

/*
 * Start, in three steps around the paid start. begin: owner only, open,
 * at least min_players, all ready → state "starting" for start_timeout_s
 * with a new attempt number (out->lobby.attempt). A lobby already
 * "started" answers GW_OK with its match set (the caller replays).
 * finish: "started" with the match, members' user claims released.
 * abort: back to "open" (the attempt failed).
 */
int lob_start_begin(struct gw_redis *r, struct gw_arena *a,
                    const struct gw_config *cfg, const char *id,
                    const char *user, struct lob_result *out);
int lob_start_finish(struct gw_redis *r, struct gw_arena *a,
                     const struct gw_config *cfg, const char *id,
                     int64_t attempt, const char *match_id, const char *host,
                     int64_t port, int64_t started_ms, struct lob_result *out);
int lob_start_abort(struct gw_redis *r, struct gw_arena *a,
                    const struct gw_config *cfg, const char *id,
                    int64_t attempt);

/* The lobby as API JSON (members, match…) appended to out. 0 or -1. */
int lob_json(const struct gw_config *cfg, const struct lob_lobby *l,
             struct gw_buf *out);

/*
 * The same text, rendered once per lobby read (l->json, in a; the
 * listing's row and the response share it); NULL out of memory.
 */
const char *lob_json_get(const struct gw_config *cfg, struct gw_arena *a,
                         struct lob_lobby *l);

/*
 * The work a transition leaves in OTHER slots (lob_lobby.c: the game's
 * listing when res->lobby.index_due, the claim named by res->unclaim),
 * for the caller to send in the same round trip as its events:
 * lob_after_send appends the commands to r's pipeline (r connected; send
 * them LAST) and returns how many replies lob_after_recv reads, once
 * every earlier reply of the pipeline has been read; a script Redis did
 * not know (NOSCRIPT) is run again alone. Failures are logged: the
 * listing is a hint, and a claim left behind is found stale by the next
 * join. lob_after does both alone (one round trip).
 * lob_create/get/join/leave/ready/kick leave this to the caller;
 * lob_start_* and lob_quick's refused candidates do it themselves.
 */
int  lob_after_send(struct gw_redis *r, struct gw_arena *a,
                    const struct gw_config *cfg, struct lob_result *res);
void lob_after_recv(struct gw_redis *r, struct gw_arena *a,
                    const struct gw_config *cfg, struct lob_result *res, int n);
void lob_after(struct gw_redis *r, struct gw_arena *a,
               const struct gw_config *cfg, struct lob_result *res);

/*
 * Refreshes the game's listing entry for l (put when open and public with
 * a free seat, else removed). Failures are logged and ignored: the listing
 * is a hint.
 */
void lob_index_update(struct gw_redis *r, struct gw_arena *a,
                      const struct gw_config *cfg, const struct lob_lobby *l);

/*
 * Tickets: base64url(payload JSON) "." base64url(HMAC-SHA256(secret,
 * first part)). Payload {"v":1,"lobby","match","user","host","port","exp"}.
 */
int lob_ticket_make(const struct gw_config *cfg, const char *lobby_id,
                    const char *match_id, const char *user, const char *host,
                    int64_t port, int64_t exp_s, char *out, size_t cap);

/*
 * Verifies a ticket offline: signature (constant time), shape, expiry
 * against now_s. GW_OK (payload JSON text copied to payload[cap]),
 * GW_EINVAL (malformed or tampered) or GW_EEXPIRED.
 */
int lob_ticket_verify(const unsigned char *secret, size_t secret_len,
                      const char *ticket, int64_t now_s, char *payload,
                      size_t cap);

#endif /* LOB_H */
