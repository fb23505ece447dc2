/*
 * lob_internal.h — shared by the lobby files; not for callers outside
 * lobby/.
 */
#ifndef LOB_INTERNAL_H
#define LOB_INTERNAL_H

#include "gw_util.h"
#include "lob.h"

/* The scripts (lob_script.c), one per transition. */
enum lob_script_id {
    LOB_S_CREATE,
    LOB_S_GET,
    LOB_S_JOIN,
    LOB_S_LEAVE,
    LOB_S_READY,
    LOB_S_INVITE,
    LOB_S_KICK,
    LOB_S_START_BEGIN,
    LOB_S_START_FINISH,
    LOB_S_START_ABORT,
    LOB_S_FENCE,
    LOB_S_ROWS_SWEEP,
    LOB_S_USER_CAS,
    LOB_S_USER_DEL,
    LOB_S_COUNT
};

#define LOB_LOBBY_KEYS 3  /* keys of one lobby, in the scripts' order */
#define LOB_TOKEN_LEN  16 /* hex of a claim's token */
/* A claim's value: "<lobby id>.<token>" and its NUL. */
#define LOB_CLAIM_MAX  (LOB_ID_LEN + 1 + LOB_TOKEN_LEN + 1)
#define LOB_INDEX_KEYS 2 /* the listing's rows and their expiries */
#define LOB_HEAD_ARGS  5 /* now, idle, closed ttl, user, eviction bound */
#define LOB_ARGS_MAX   (LOB_HEAD_ARGS + 8 + LOB_INVITES_MAX)
#define LOB_KEY_MAX    (32 + GW_USER_ID_MAX + LOB_ID_LEN)

/* The text and SHA1 (hex) of a script. */
const char *lob_script_text(enum lob_script_id s);
const char *lob_script_sha(enum lob_script_id s);
int         lob_script_init(void);

/*
 * EVALSHA of script s with keys and args (binary-safe strings), loading it
 * on NOSCRIPT. With refresh_key, a PEXPIRE refresh_key refresh_ms travels
 * in the same round trip. The reply is freed at a's reset.
 */
int lob_eval(struct gw_redis *r, struct gw_arena *a, enum lob_script_id s,
             int nkeys, const char *const *keys, int nargs,
             const char *const *args, const char *refresh_key,
             int64_t refresh_ms, redisReply **reply);

/*
 * lob_eval of a lobby transition that also reads the lobby: EVALSHA and
 * HGETALL render in one MULTI/EXEC, so *hash is the state the script left
 * (freed at a's reset too).
 */
int lob_eval_render(struct gw_redis *r, struct gw_arena *a,
                    enum lob_script_id s, int nkeys, const char *const *keys,
                    int nargs, const char *const *args, const char *render,
                    const char *refresh_key, int64_t refresh_ms,
                    redisReply **reply, redisReply **hash);

/*
 * Appends EVALSHA of script s to r's pipeline (r connected); its reply is
 * read with gw_redis_pipeline_get. 0 or -1.
 */
int lob_append(struct gw_redis *r, enum lob_script_id s, int nkeys,
               const char *const *keys, int nargs, const char *const *args);

/*
 * The listing (lob_list.c) of one game, in the game's slot:
 *   vas:lobbies:{g<game>}:rows  zset, every score 0, member "<created ms,
 *                               13 digits>.<id>.<expiry ms, 13 digits>.
 *                               <lobby JSON>": lexical order is the list's
 *                               order (created, then id), so a page is one
 *                               ZREVRANGEBYLEX and no script;
 *   vas:lobbies:{g<game>}:exps  zset "<created>.<id>" -> expiry ms, for
 *                               the sweep of expired rows.
 * LOB_ROW_KEY_LEN: "<created>.<id>"; LOB_ROW_HEAD: up to the JSON.
 */
#define LOB_ROW_MS_DIGITS 13
#define LOB_ROW_MS_MAX    9999999999999LL
#define LOB_ROW_KEY_LEN   (LOB_ROW_MS_DIGITS + 1 + LOB_ID_LEN)
#define LOB_ROW_HEAD      (LOB_ROW_KEY_LEN + 1 + LOB_ROW_MS_DIGITS + 1)

/* One lobby's listing put, prepared by lob_row_args. */
struct lob_row {
    char          keys[LOB_INDEX_KEYS][LOB_KEY_MAX];
    char          key[LOB_ROW_KEY_LEN + 1];  /* "<created>.<id>" */
    char          lo[LOB_ROW_KEY_LEN + 3];   /* "[<key>." */
    char          hi[LOB_ROW_KEY_LEN + 3];   /* "[<key>/" */
    char          exp[24], ttl[24], now[24]; /* ms as text */
    struct gw_buf member;                    /* the row; empty: unlisted */
};

/*
 * Prepares the listing put for l (gw_buf_free(&row->member) after). 1 when
 * there is one to send, 0 when l is private or not loaded, -1 out of
 * memory.
 */
int lob_row_args(const struct gw_config *cfg, const struct lob_lobby *l,
                 struct lob_row *row);

/*
 * Appends the listing put of row to r's pipeline (connected): a listed
 * lobby's row replaces its previous one in one MULTI/EXEC (no reader sees
 * two rows of one lobby or none), an unlisted one's is removed; every
 * LOB_ROWS_SWEEP_EVERY-th put of a thread also runs the sweep script.
 * Returns how many replies to read (0: nothing appended); the sweep's, if
 * any, is the last.
 */
#define LOB_ROWS_SWEEP_EVERY 16
int lob_row_append(struct gw_redis *r, const struct lob_row *row);

/* Appends the sweep script of the game's listing (keys: row->keys). */
int lob_row_append_sweep(struct gw_redis *r, const struct lob_row *row);

/* 1 when rep is Redis' NOSCRIPT error. */
int lob_is_noscript(const redisReply *rep);

/* Compare-and-delete of user's claim: value is "<lobby>.<token>" (that
 * claim only) or "<lobby>" (any claim on it); one round trip. NULL (out
 * of memory): logged, the claim expires or is found stale later. */
void lob_unclaim(struct gw_redis *r, struct gw_arena *a, const char *user,
                 const char *value);

/* Numbers sent to Redis: gw_i64_text's size. */
#define LOB_NUM_MAX GW_I64_TEXT_MAX

/* Key names into out[LOB_KEY_MAX]. */
void lob_key_user(const char *user, char *out);
void lob_keys_lobby(const char *id, char out[LOB_LOBBY_KEYS][LOB_KEY_MAX]);
void lob_keys_index(int64_t game_id, char out[LOB_INDEX_KEYS][LOB_KEY_MAX]);

#endif /* LOB_INTERNAL_H */
