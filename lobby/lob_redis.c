/*
 * lob_redis.c — key names and script calls.
 *
 * Scripts are run the way redis-py's Script object and most hiredis users
 * do it: EVALSHA by the SHA1 computed at start; on a NOSCRIPT error (Redis
 * restarted, SCRIPT FLUSH, a new replica promoted) SCRIPT LOAD the text
 * once and EVALSHA again. The text is never sent with every call.
 */
#include <stdio.h>
#include <string.h>

#include "gw_log.h"
#include "gw_status.h"
#include "lob_internal.h"

#define LOB_ARGV_MAX (3 + LOB_LOBBY_KEYS + 4 + LOB_ARGS_MAX)
/* RESP framing of a call's words, MULTI, HGETALL, EXEC and a PEXPIRE */
#define LOB_SEND_SLACK 512

void
lob_key_user(const char *user, char *out)
{
    gw_tagged_key(out, LOB_KEY_MAX, "vas:lobbyuser:", user, "");
}

void
lob_keys_lobby(const char *id, char out[LOB_LOBBY_KEYS][LOB_KEY_MAX])
{
    static const char *const sfx[LOB_LOBBY_KEYS] = {"", ":s", ":f"};
    int                      i;

    for (i = 0; i < LOB_LOBBY_KEYS; i++) {
        gw_tagged_key(out[i], LOB_KEY_MAX, "vas:lobby:", id, sfx[i]);
    }
}

void
lob_keys_index(int64_t game_id, char out[LOB_INDEX_KEYS][LOB_KEY_MAX])
{
    static const char *const sfx[LOB_INDEX_KEYS] = {":rows", ":exps"};
    char                     tag[LOB_NUM_MAX + 1];
    int                      i;

    tag[0] = 'g';
    gw_i64_text(tag + 1, game_id);
    for (i = 0; i < LOB_INDEX_KEYS; i++) {
        gw_tagged_key(out[i], LOB_KEY_MAX, "vas:lobbies:", tag, sfx[i]);
    }
}

int
lob_is_noscript(const redisReply *rep)
{
    return rep != NULL && rep->type == REDIS_REPLY_ERROR && rep->str != NULL
        && strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

static int
lob_load(struct gw_redis *r, enum lob_script_id s)
{
    redisReply *rep = NULL;
    int         rc;

    rc = gw_redis_cmd(r, NULL, &rep, "SCRIPT LOAD %s", lob_script_text(s));
    if (rc == GW_OK
        && (rep->type != REDIS_REPLY_STRING
            || strcmp(rep->str, lob_script_sha(s)) != 0)) {
        gw_log_error(r->rid, "SCRIPT LOAD answered another SHA");
        rc = GW_ERROR;
    }
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    return rc;
}

/* Reads one reply of the pipeline into *rep (NULL when the connection
 * broke); keeps the first failure in *rc. */
static void
lob_read(struct gw_redis *r, redisReply **rep, int *rc)
{
    int got;

    if (*rc == GW_EUNAVAIL) {
        *rep = NULL;
        return;
    }
    got = gw_redis_pipeline_get(r, rep);
    if (got == GW_EUNAVAIL || (got == GW_ERROR && *rc == GW_OK)) {
        *rc = got;
    }
}

/*
 * The replies of a lobby call live in the request's arena: hiredis' own
 * functions calloc every element and malloc every string, and a lobby
 * transition reads its whole hash (HGETALL: 30 to 50 elements), so those
 * allocations and their frees at the arena's reset were a fifth of the
 * worker's user CPU on the join+leave row (perf). lob_send_once puts these
 * functions on the connection's reader while it reads its own replies and
 * gives hiredis' back before it returns; nothing it read is freed with
 * freeReplyObject. lob_reply_arena is the arena of that read (one thread,
 * one connection).
 */
static _Thread_local struct gw_arena *lob_reply_arena;

static void *
lob_reply_new(const redisReadTask *task, int type)
{
    redisReply *r = gw_arena_calloc(lob_reply_arena, sizeof(*r));
    redisReply *parent;

    if (r == NULL) {
        return NULL;
    }
    r->type = type;
    if (task->parent != NULL) {
        parent = task->parent->obj;
        parent->element[task->idx] = r;
    }
    return r;
}

static void *
lob_reply_string(const redisReadTask *task, char *str, size_t len)
{
    char       *buf = gw_arena_alloc(lob_reply_arena, len + 1);
    redisReply *r;

    if (buf == NULL || (r = lob_reply_new(task, task->type)) == NULL) {
        return NULL;
    }
    memcpy(buf, str, len);
    buf[len] = '\0';
    r->str = buf;
    r->len = len;
    return r;
}

static void *
lob_reply_array(const redisReadTask *task, int elements)
{
    redisReply **el = NULL;
    redisReply  *r;

    if (elements > 0
        && (el = gw_arena_calloc(lob_reply_arena,
                                 sizeof(redisReply *) * (size_t) elements))
            == NULL) {
        return NULL;
    }
    if ((r = lob_reply_new(task, REDIS_REPLY_ARRAY)) == NULL) {
        return NULL;
    }
    r->element = el;
    r->elements = elements > 0 ? (size_t) elements : 0;
    return r;
}

static void *
lob_reply_integer(const redisReadTask *task, long long value)
{
    redisReply *r = lob_reply_new(task, REDIS_REPLY_INTEGER);

    if (r != NULL) {
        r->integer = value;
    }
    return r;
}

static void *
lob_reply_nil(const redisReadTask *task)
{
    return lob_reply_new(task, REDIS_REPLY_NIL);
}

static void
lob_reply_keep(void *reply)
{
    (void) reply; /* freed with the arena */
}

static redisReplyObjectFunctions lob_reply_fns = {
    lob_reply_string, lob_reply_array, lob_reply_integer,
    lob_reply_nil,    lob_reply_keep,
};

/* One transition's call: what lob_send_once sends and where it answers. */
struct lob_call {
    struct gw_arena *a;
    int              argc;
    const char     **argv;
    const size_t    *lens;
    const char      *render, *refresh_key;
    int64_t          refresh_ms;
    redisReply     **reply, **hash;
};

/* Appends the command "name [a [b]]" (a, b: NULL when absent). */
static int
lob_word(struct gw_redis *r, const char *name, const char *a, const char *b)
{
    const char *argv[3] = {name, a, b};
    size_t      lens[3];
    int         argc = 1 + (a != NULL) + (a != NULL && b != NULL), i;

    for (i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    return gw_redis_append_argv(r->ctx, argc, argv, lens);
}

/*
 * One round trip (r connected): the EVALSHA — with render, inside MULTI
 * and followed by HGETALL render, EXEC — then, when asked, the PEXPIRE of
 * refresh_key (in another slot, so after the EXEC). *reply is the
 * script's answer and *hash the HGETALL's (the state the script left);
 * both are in a (read with lob_reply_fns). GW_ERROR when Redis refused the
 * script
 * (*reply is its error).
 */
static int
lob_send_once(struct gw_redis *r, void *arg)
{
    struct lob_call           *c = arg;
    redisReply                *rep[5] = {NULL, NULL, NULL, NULL, NULL}, *exec;
    redisContext              *ctx = r->ctx;
    redisReplyObjectFunctions *fns;
    char                       ms[LOB_NUM_MAX];
    int                        rc = GW_OK, n, i;

    *c->reply = *c->hash = NULL;
    for (n = 0, i = 0; i < c->argc; i++) {
        n += (int) c->lens[i];
    }
    /* one allocation of hiredis' output buffer, not a doubling per word */
    gw_redis_reserve(r, (size_t) n + LOB_SEND_SLACK);
    if ((c->render != NULL && lob_word(r, "MULTI", NULL, NULL) != REDIS_OK)
        || gw_redis_append_argv(r->ctx, c->argc, c->argv, c->lens) != REDIS_OK
        || (c->render != NULL
            && (lob_word(r, "HGETALL", c->render, NULL) != REDIS_OK
                || lob_word(r, "EXEC", NULL, NULL) != REDIS_OK))) {
        return GW_ERROR;
    }
    if (c->refresh_key != NULL) {
        gw_i64_text(ms, c->refresh_ms);
        if (lob_word(r, "PEXPIRE", c->refresh_key, ms) != REDIS_OK) {
            return GW_ERROR;
        }
    }
    n = (c->render != NULL ? 4 : 1) + (c->refresh_key != NULL);
    /* Read into the arena (a broken connection is freed by hiredis with
     * lob_reply_keep, which leaves the arena's memory alone). */
    fns = ctx->reader->fn;
    lob_reply_arena = c->a;
    ctx->reader->fn = &lob_reply_fns;
    for (i = 0; i < n; i++) {
        lob_read(r, &rep[i], &rc);
    }
    if (r->ctx == ctx) {
        ctx->reader->fn = fns;
    }
    lob_reply_arena = NULL;
    exec = rep[c->render != NULL ? 3 : 0];
    if (rc == GW_EUNAVAIL || exec == NULL) {
        return GW_EUNAVAIL;
    }
    if (c->render == NULL) {
        *c->reply = exec;
        return exec->type == REDIS_REPLY_ERROR ? GW_ERROR : GW_OK;
    }
    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2) {
        *c->reply = exec; /* EXECABORT, or a broken reply */
        return GW_ERROR;
    }
    *c->reply = exec->element[0];
    *c->hash = exec->element[1];
    return (*c->reply)->type == REDIS_REPLY_ERROR ? GW_ERROR : GW_OK;
}

/* EVALSHA argv of script s; returns argc or -1. */
static int
lob_argv(enum lob_script_id s, int nkeys, const char *const *keys, int nargs,
         const char *const *args, char *nk, const char **argv, size_t *lens)
{
    int argc = 0, i;

    if (3 + nkeys + nargs > LOB_ARGV_MAX) {
        return -1;
    }
    gw_i64_text(nk, nkeys);
    argv[argc++] = "EVALSHA";
    argv[argc++] = lob_script_sha(s);
    argv[argc++] = nk;
    for (i = 0; i < nkeys; i++) {
        argv[argc++] = keys[i];
    }
    for (i = 0; i < nargs; i++) {
        argv[argc++] = args[i];
    }
    for (i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    return argc;
}

int
lob_append(struct gw_redis *r, enum lob_script_id s, int nkeys,
           const char *const *keys, int nargs, const char *const *args)
{
    const char *argv[LOB_ARGV_MAX];
    size_t      lens[LOB_ARGV_MAX];
    char        nk[LOB_NUM_MAX];
    int         argc = lob_argv(s, nkeys, keys, nargs, args, nk, argv, lens);

    if (argc < 0 || r->ctx == NULL
        || gw_redis_append_argv(r->ctx, argc, argv, lens) != REDIS_OK) {
        return -1;
    }
    return 0;
}

int
lob_eval_render(struct gw_redis *r, struct gw_arena *a, enum lob_script_id s,
                int nkeys, const char *const *keys, int nargs,
                const char *const *args, const char *render,
                const char *refresh_key, int64_t refresh_ms, redisReply **reply,
                redisReply **hash)
{
    const char     *argv[LOB_ARGV_MAX];
    size_t          lens[LOB_ARGV_MAX];
    char            nk[LOB_NUM_MAX];
    struct lob_call call;
    int             argc, rc, attempt;

    argc = lob_argv(s, nkeys, keys, nargs, args, nk, argv, lens);
    if (argc < 0) {
        return GW_EINVAL;
    }
    *reply = *hash = NULL; /* also when no connection could be made */
    call.a = a, call.argc = argc, call.argv = argv, call.lens = lens;
    call.render = render, call.refresh_key = refresh_key;
    call.refresh_ms = refresh_ms, call.reply = reply, call.hash = hash;
    for (attempt = 0; attempt < 2; attempt++) {
        /* once more on a fresh connection after a Redis restart */
        rc = gw_redis_retry(r, lob_send_once, &call);
        if (rc != GW_ERROR || !lob_is_noscript(*reply) || attempt > 0) {
            break;
        }
        rc = lob_load(r, s);
        if (rc != GW_OK) {
            break;
        }
    }
    if (rc == GW_ERROR && *reply != NULL && !lob_is_noscript(*reply)) {
        gw_log_error(r->rid, "lobby script %d: %s", (int) s,
                     (*reply)->str ? (*reply)->str : "?");
    }
    return rc;
}

int
lob_eval(struct gw_redis *r, struct gw_arena *a, enum lob_script_id s,
         int nkeys, const char *const *keys, int nargs, const char *const *args,
         const char *refresh_key, int64_t refresh_ms, redisReply **reply)
{
    redisReply *hash;

    return lob_eval_render(r, a, s, nkeys, keys, nargs, args, NULL, refresh_key,
                           refresh_ms, reply, &hash);
}
