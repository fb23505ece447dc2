/*
 * gw_redis.h — one Redis connection per thread (hiredis 0.14, blocking),
 * with explicit connect and command timeouts. After any I/O or protocol
 * error the context is dropped and the next call reconnects: a failed
 * Redis never wedges a thread, and callers decide whether Redis being
 * down matters (it never does for money paths, see DESIGN.md).
 *
 * Keys are namespaced "vas:" and use {hash tags} for Redis Cluster.
 * Authentication: with redis.password_file set, every new connection sends
 * AUTH redis.user <password> (an ACL user that may run only what the
 * gateway needs, see etc/redis.conf.in); a refused AUTH is GW_EUNAVAIL.
 * Not thread-safe: a struct gw_redis belongs to one thread.
 */
#ifndef GW_REDIS_H
#define GW_REDIS_H

#include <hiredis.h>

#include "gw_arena.h"
#include "gw_config.h"

struct gw_redis {
    redisContext           *ctx; /* NULL while disconnected */
    const struct gw_config *cfg;
    const char             *rid;
};

void gw_redis_init(struct gw_redis *r, const struct gw_config *cfg);
void gw_redis_fini(struct gw_redis *r);

/* Connects (and authenticates) if needed. GW_OK or GW_EUNAVAIL. */
int gw_redis_connect(struct gw_redis *r);

/*
 * The one retry rule of a thread's connection: runs once(r, arg) — which
 * sends on r->ctx and reads its replies — after gw_redis_connect, and when
 * it failed with GW_EUNAVAIL on a connection made before this call (one
 * that predates a Redis restart), once more on a fresh connection. For
 * commands and pipelines that are safe to repeat (see gw_redis_cmd);
 * gw_redis_cmd and gw_redis_cmdv are this with one command.
 */
typedef int (*gw_redis_once_fn)(struct gw_redis *r, void *arg);
int gw_redis_retry(struct gw_redis *r, gw_redis_once_fn once, void *arg);

/*
 * Runs one command (hiredis format: %s, %b, %lld…). *reply is freed at the
 * arena's reset when a is given, else by the caller (freeReplyObject).
 * A Redis error reply ("-ERR …") is GW_ERROR with *reply set.
 * When the thread's connection predates a Redis restart, the command fails
 * with an I/O error and is re-sent once on a fresh connection: use these
 * for commands that are safe to repeat (reads, idempotent writes, stream
 * entries that consumers de-duplicate by id).
 */
int gw_redis_cmd(struct gw_redis *r, struct gw_arena *a, redisReply **reply,
                 const char *fmt, ...);

/* Same with an argv vector (binary-safe). */
int gw_redis_cmdv(struct gw_redis *r, struct gw_arena *a, redisReply **reply,
                  int argc, const char **argv, const size_t *argvlen);

/*
 * Pipelining: append n commands with redisAppendCommandArgv on r->ctx
 * (after gw_redis_connect), then collect them with gw_redis_pipeline_get().
 */
int gw_redis_pipeline_get(struct gw_redis *r, redisReply **reply);

/*
 * Before appending a pipeline of about bytes bytes of commands (r
 * connected): grows hiredis' output buffer once. hiredis frees that
 * buffer after every complete write and doubles it while commands are
 * appended (a realloc and copy of the whole pipeline each time, often
 * growing the thread's malloc heap); a guess too small only costs those
 * reallocs again. Never fails (without memory it leaves the buffer).
 */
void gw_redis_reserve(struct gw_redis *r, size_t bytes);

/*
 * redisAppendCommandArgv, writing the command's RESP text straight into
 * the context's output buffer (hiredis formats each command into a new
 * string, then copies and frees it). REDIS_OK, or REDIS_ERR without memory
 * (the buffer keeps what was appended before). Same wire bytes.
 */
int gw_redis_append_argv(redisContext *c, int argc, const char **argv,
                         const size_t *argvlen);

/* PING. */
int gw_redis_ping(struct gw_redis *r);

#endif /* GW_REDIS_H */
