/*
 * lob_internal.h — shared by the lobby files; not for callers outside
 * lobby/.
 */
#ifndef LOB_INTERNAL_H
#define LOB_INTERNAL_H

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
    LOB_S_IDX_PUT,
    LOB_S_IDX_LIST,
    LOB_S_USER_CAS,
    LOB_S_USER_DEL,
    LOB_S_COUNT
};

#define LOB_LOBBY_KEYS 3  /* keys of one lobby, in the scripts' order */
#define LOB_TOKEN_LEN  16 /* hex of a claim's token */
/* A claim's value: "<lobby id>.<token>" and its NUL. */
#define LOB_CLAIM_MAX  (LOB_ID_LEN + 1 + LOB_TOKEN_LEN + 1)
#define LOB_INDEX_KEYS 3
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
 * The listing put for l: keys into keys[], args into argv[6] (json holds
 * the rendered lobby). 1 when there is one to send, 0 when l is private
 * or not loaded, -1 out of memory.
 */
int lob_index_args(const struct gw_config *cfg, const struct lob_lobby *l,
                   struct gw_buf *json, char keys[LOB_INDEX_KEYS][LOB_KEY_MAX],
                   char nums[4][24], const char **argv);

/*
 * Appends the listing put of lob_index_args (kp, argv) to r's pipeline
 * (connected): the IDX_PUT script, which also sweeps expired entries,
 * every LOB_INDEX_SWEEP_EVERY-th time per thread, else its writes as
 * LOB_INDEX_PLAIN_CMDS plain commands. Returns how many replies to read
 * (0: nothing appended).
 */
#define LOB_INDEX_SWEEP_EVERY 16
#define LOB_INDEX_PLAIN_CMDS  6
int lob_index_append(struct gw_redis *r, const char *const *kp,
                     const char *const *argv);

/* 1 when rep is Redis' NOSCRIPT error. */
int lob_is_noscript(const redisReply *rep);

/* Compare-and-delete of user's claim: value is "<lobby>.<token>" (that
 * claim only) or "<lobby>" (any claim on it); one round trip. NULL (out
 * of memory): logged, the claim expires or is found stale later. */
void lob_unclaim(struct gw_redis *r, struct gw_arena *a, const char *user,
                 const char *value);

/* Key names into out[LOB_KEY_MAX]. */
void lob_key_user(const char *user, char *out);
void lob_keys_lobby(const char *id, char out[LOB_LOBBY_KEYS][LOB_KEY_MAX]);
void lob_keys_index(int64_t game_id, char out[LOB_INDEX_KEYS][LOB_KEY_MAX]);

#endif /* LOB_INTERNAL_H */
