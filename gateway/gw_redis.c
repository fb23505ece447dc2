/*
 * gw_redis.c — hiredis plumbing.
 */
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>

#include <sds.h>

#include "gw_log.h"
#include "gw_redis.h"
#include "gw_status.h"

/* "$" or "*", 20 digits, CRLF. */
#define GW_REDIS_RESP_HEAD_MAX 23

void
gw_redis_init(struct gw_redis *r, const struct gw_config *cfg)
{
    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
}

static void
gw_redis_drop(struct gw_redis *r)
{
    if (r->ctx != NULL) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
}

void
gw_redis_fini(struct gw_redis *r)
{
    gw_redis_drop(r);
}

static struct timeval
gw_redis_tv(int64_t ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t) (ms / 1000);
    tv.tv_usec = (suseconds_t) ((ms % 1000) * 1000);
    return tv;
}

/* AUTH user password (Redis 6 ACL) when redis.password_file is set. */
static int
gw_redis_auth(struct gw_redis *r, redisContext *c)
{
    const struct gw_config *cfg = r->cfg;
    redisReply             *rep;
    int                     rc = GW_OK;

    if (cfg->redis_password[0] == '\0') {
        return GW_OK;
    }
    rep = cfg->redis.user[0] != '\0'
        ? redisCommand(c, "AUTH %s %s", cfg->redis.user, cfg->redis_password)
        : redisCommand(c, "AUTH %s", cfg->redis_password);
    if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
        /* Never the password; Redis' answer names no secret either. */
        gw_log_error(r->rid, "redis AUTH as '%s' refused: %s", cfg->redis.user,
                     rep != NULL ? rep->str : c->errstr);
        rc = GW_EUNAVAIL;
    }
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    return rc;
}

int
gw_redis_connect(struct gw_redis *r)
{
    redisContext *c;

    if (r->ctx != NULL) {
        return GW_OK;
    }
    c = redisConnectWithTimeout(r->cfg->redis.host, (int) r->cfg->redis.port,
                                gw_redis_tv(r->cfg->redis.connect_timeout_ms));
    if (c == NULL || c->err) {
        gw_log_warn(r->rid, "connect %s:%lld: %s", r->cfg->redis.host,
                    (long long) r->cfg->redis.port,
                    c ? c->errstr : "out of memory");
        if (c != NULL) {
            redisFree(c);
        }
        return GW_EUNAVAIL;
    }
    if (redisSetTimeout(c, gw_redis_tv(r->cfg->redis.timeout_ms)) != REDIS_OK
        || gw_redis_auth(r, c) != GW_OK) {
        redisFree(c);
        return GW_EUNAVAIL;
    }
    r->ctx = c;
    return GW_OK;
}

static void
gw_redis_free_reply(void *reply)
{
    freeReplyObject(reply);
}

static int
gw_redis_finish(struct gw_redis *r, struct gw_arena *a, redisReply **reply,
                redisReply *rep)
{
    *reply = NULL;
    if (rep == NULL) {
        gw_log_warn(r->rid, "redis I/O: %s", r->ctx ? r->ctx->errstr : "");
        gw_redis_drop(r);
        return GW_EUNAVAIL;
    }
    if (a != NULL && gw_arena_cleanup_add(a, gw_redis_free_reply, rep) != 0) {
        return GW_ERROR;
    }
    *reply = rep;
    if (rep->type == REDIS_REPLY_ERROR) {
        gw_log_error(r->rid, "redis: %s", rep->str);
        return GW_ERROR;
    }
    return GW_OK;
}

int
gw_redis_retry(struct gw_redis *r, gw_redis_once_fn once, void *arg)
{
    int rc = GW_EUNAVAIL, attempt, stale;

    for (attempt = 0; attempt < 2; attempt++) {
        stale = r->ctx != NULL;
        rc = gw_redis_connect(r);
        if (rc != GW_OK) {
            break;
        }
        rc = once(r, arg);
        /* A connection made before a Redis restart fails once: re-send on
         * a fresh one (see the header on which commands may be). */
        if (rc != GW_EUNAVAIL || !stale) {
            break;
        }
    }
    return rc;
}

/* One command: a format and its arguments, or an argv vector. */
struct gw_redis_one {
    struct gw_arena *a;
    redisReply     **reply;
    const char      *fmt;
    va_list         *ap;
    int              argc;
    const char     **argv;
    const size_t    *argvlen;
};

static int
gw_redis_one_send(struct gw_redis *r, void *arg)
{
    struct gw_redis_one *c = arg;
    va_list              ap;
    void                *rep;

    if (c->fmt != NULL) {
        va_copy(ap, *c->ap);
        rep = redisvCommand(r->ctx, c->fmt, ap);
        va_end(ap);
    } else {
        rep = redisCommandArgv(r->ctx, c->argc, c->argv, c->argvlen);
    }
    return gw_redis_finish(r, c->a, c->reply, rep);
}

int
gw_redis_cmd(struct gw_redis *r, struct gw_arena *a, redisReply **reply,
             const char *fmt, ...)
{
    struct gw_redis_one c = {a, reply, fmt, NULL, 0, NULL, NULL};
    va_list             ap;
    int                 rc;

    *reply = NULL;
    va_start(ap, fmt);
    c.ap = &ap;
    rc = gw_redis_retry(r, gw_redis_one_send, &c);
    va_end(ap);
    return rc;
}

int
gw_redis_cmdv(struct gw_redis *r, struct gw_arena *a, redisReply **reply,
              int argc, const char **argv, const size_t *argvlen)
{
    struct gw_redis_one c = {a, reply, NULL, NULL, argc, argv, argvlen};

    *reply = NULL;
    return gw_redis_retry(r, gw_redis_one_send, &c);
}

int
gw_redis_pipeline_get(struct gw_redis *r, redisReply **reply)
{
    void *rep = NULL;

    *reply = NULL;
    if (r->ctx == NULL) {
        return GW_EUNAVAIL;
    }
    if (redisGetReply(r->ctx, &rep) != REDIS_OK || rep == NULL) {
        gw_log_warn(r->rid, "redis I/O: %s", r->ctx->errstr);
        gw_redis_drop(r);
        return GW_EUNAVAIL;
    }
    *reply = rep;
    return ((redisReply *) rep)->type == REDIS_REPLY_ERROR ? GW_ERROR : GW_OK;
}

void
gw_redis_reserve(struct gw_redis *r, size_t bytes)
{
    sds grown;

    if (r->ctx == NULL || sdsavail(r->ctx->obuf) >= bytes) {
        return;
    }
    grown = sdsMakeRoomFor(r->ctx->obuf, bytes);
    if (grown != NULL) {
        r->ctx->obuf = grown;
    }
}

/* Writes "<mark><n>\r\n" at p; returns its end. */
static char *
gw_redis_resp_head(char *p, char mark, size_t n)
{
    char   d[24];
    size_t k = 0;

    *p++ = mark;
    do {
        d[k++] = (char) ('0' + n % 10);
        n /= 10;
    } while (n > 0);
    while (k > 0) {
        *p++ = d[--k];
    }
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

int
gw_redis_append_argv(redisContext *c, int argc, const char **argv,
                     const size_t *argvlen)
{
    size_t total = GW_REDIS_RESP_HEAD_MAX, i;
    sds    grown;
    char  *p, *start;

    if (argc < 0) {
        return REDIS_ERR;
    }
    for (i = 0; i < (size_t) argc; i++) {
        total += GW_REDIS_RESP_HEAD_MAX + argvlen[i] + 2;
    }
    if (total > INT_MAX) {
        return REDIS_ERR; /* sdsIncrLen takes an int */
    }
    grown = sdsMakeRoomFor(c->obuf, total);
    if (grown == NULL) {
        return REDIS_ERR;
    }
    c->obuf = grown;
    start = p = c->obuf + sdslen(c->obuf);
    p = gw_redis_resp_head(p, '*', (size_t) argc);
    for (i = 0; i < (size_t) argc; i++) {
        p = gw_redis_resp_head(p, '$', argvlen[i]);
        memcpy(p, argv[i], argvlen[i]);
        p += argvlen[i];
        *p++ = '\r';
        *p++ = '\n';
    }
    sdsIncrLen(c->obuf, (int) (p - start));
    return REDIS_OK;
}

int
gw_redis_ping(struct gw_redis *r)
{
    redisReply *rep;
    int         rc;

    rc = gw_redis_cmd(r, NULL, &rep, "PING");
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    if (rc == GW_ERROR) {
        gw_redis_drop(r);
        rc = GW_EUNAVAIL;
    }
    return rc;
}
