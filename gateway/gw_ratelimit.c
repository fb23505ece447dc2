/*
 * gw_ratelimit.c — the token bucket script and its one round trip.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "gw_log.h"
#include "gw_ratelimit.h"
#include "gw_request.h"
#include "gw_router.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"

/*
 * KEYS[1] the bucket; ARGV[1] tokens per minute, ARGV[2] burst. A bucket
 * is a hash {t = tokens, ts = last refill ms}; a missing one is full. It
 * expires once it would be full again, so idle callers cost no memory.
 * Returns {1, 0} (taken) or {0, ms until one token is there}.
 */
static const char gw_rl_script[] =
    "local rate = tonumber(ARGV[1]) / 60000\n"
    "local burst = tonumber(ARGV[2])\n"
    "local now = redis.call('TIME')\n"
    "now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)\n"
    "local b = redis.call('HMGET', KEYS[1], 't', 'ts')\n"
    "local t, ts = tonumber(b[1]), tonumber(b[2])\n"
    "if t == nil or ts == nil then t, ts = burst, now end\n"
    "if now > ts then t = math.min(burst, t + (now - ts) * rate); ts = now "
    "end\n"
    "local ok, wait = 0, 0\n"
    "if t >= 1 then t = t - 1; ok = 1 else "
    "wait = math.ceil((1 - t) / rate) end\n"
    "redis.call('HSET', KEYS[1], 't', tostring(t), 'ts', tostring(ts))\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil((burst - t) / rate) + 1000)\n"
    "return {ok, wait}\n";

static char gw_rl_sha[41];

/* Thread-local: until when this thread treats Redis as down. */
static __thread int64_t gw_rl_down_until_ms;

static void
gw_rl_sha_init(void)
{
    unsigned char md[SHA_DIGEST_LENGTH];

    if (gw_rl_sha[0] == '\0') {
        SHA1((const unsigned char *) gw_rl_script, sizeof(gw_rl_script) - 1,
             md);
        gw_hex_encode(md, sizeof(md), gw_rl_sha);
    }
}

const char *
gw_ratelimit_class_name(enum gw_rl_class c)
{
    static const char *names[] = {"auto", "read", "write", "money", "off"};

    return (unsigned) c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

enum gw_rl_class
gw_ratelimit_class(const struct gw_route *rt)
{
    unsigned c = (rt->flags & GW_ROUTE_RL_MASK) >> GW_ROUTE_RL_SHIFT;

    if (c != GW_RL_AUTO && c <= GW_RL_OFF) {
        return (enum gw_rl_class) c;
    }
    if (rt->flags & (GW_ROUTE_TRUSTED | GW_ROUTE_NOLOG)) {
        return GW_RL_OFF;
    }
    if (rt->flags & GW_ROUTE_IDEMPOTENT) {
        return GW_RL_MONEY;
    }
    return strcmp(rt->method, "GET") == 0 || strcmp(rt->method, "HEAD") == 0
        ? GW_RL_READ
        : GW_RL_WRITE;
}

struct gw_rl_bucket {
    char    key[GW_REQUEST_ID_MAX + GW_USER_ID_MAX + 32];
    int64_t per_min, burst;
};

/* Sends EVALSHA (or EVAL when load) for n buckets, pipelined. */
static int
gw_rl_send(struct gw_redis *rd, const struct gw_rl_bucket *b, int n, int load)
{
    char        rate[24], burst[24];
    const char *argv[6];
    size_t      len[6];
    int         i;

    for (i = 0; i < n; i++) {
        snprintf(rate, sizeof(rate), "%lld", (long long) b[i].per_min);
        snprintf(burst, sizeof(burst), "%lld", (long long) b[i].burst);
        argv[0] = load ? "EVAL" : "EVALSHA";
        argv[1] = load ? gw_rl_script : gw_rl_sha;
        argv[2] = "1";
        argv[3] = b[i].key;
        argv[4] = rate;
        argv[5] = burst;
        for (int k = 0; k < 6; k++) {
            len[k] = strlen(argv[k]);
        }
        if (redisAppendCommandArgv(rd->ctx, 6, argv, len) != REDIS_OK) {
            return GW_EUNAVAIL;
        }
    }
    return GW_OK;
}

/*
 * Reads n replies; *wait_ms = the longest wait of a refused bucket (0 when
 * all granted). *noscript = 1 when Redis did not know the script.
 */
static int
gw_rl_recv(struct gw_redis *rd, int n, int64_t *wait_ms, int *noscript)
{
    redisReply *rep;
    int         i, rc, out = GW_OK;

    *wait_ms = 0;
    *noscript = 0;
    for (i = 0; i < n; i++) {
        rc = gw_redis_pipeline_get(rd, &rep);
        if (rc == GW_EUNAVAIL) {
            return rc; /* the connection is gone: nothing left to read */
        }
        if (rc == GW_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
            *noscript = 1;
        } else if (rc == GW_ERROR) {
            gw_log_error(rd->rid, "rate limit script: %s", rep->str);
            out = GW_ERROR;
        } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2
                   && rep->element[0]->type == REDIS_REPLY_INTEGER
                   && rep->element[1]->type == REDIS_REPLY_INTEGER) {
            if (rep->element[0]->integer == 0
                && rep->element[1]->integer + 1 > *wait_ms) {
                *wait_ms = rep->element[1]->integer + 1;
            }
        } else {
            out = GW_ERROR;
        }
        freeReplyObject(rep);
    }
    return *noscript && out == GW_OK ? GW_OK : out;
}

/* One round trip (two after a NOSCRIPT). */
static int
gw_rl_eval(struct gw_redis *rd, const struct gw_rl_bucket *b, int n,
           int64_t *wait_ms)
{
    int rc, noscript, load;

    gw_rl_sha_init();
    for (load = 0; load < 2; load++) {
        rc = gw_redis_connect(rd);
        if (rc == GW_OK) {
            rc = gw_rl_send(rd, b, n, load);
        }
        if (rc == GW_OK) {
            rc = gw_rl_recv(rd, n, wait_ms, &noscript);
        }
        if (rc != GW_OK || !noscript) {
            return rc;
        }
    }
    return GW_ERROR;
}

/* Fills the buckets of r for class c; returns how many. */
static int
gw_rl_buckets(const struct gw_request *r, enum gw_rl_class c,
              struct gw_rl_bucket *b)
{
    const struct gw_config *cfg = r->cfg;
    int64_t                 per_min, burst;
    const char             *name = gw_ratelimit_class_name(c);
    int                     n = 0;

    per_min = c == GW_RL_READ ? cfg->ratelimit.read_per_min
        : c == GW_RL_WRITE    ? cfg->ratelimit.write_per_min
                              : cfg->ratelimit.money_per_min;
    burst = c == GW_RL_READ ? cfg->ratelimit.read_burst
        : c == GW_RL_WRITE  ? cfg->ratelimit.write_burst
                            : cfg->ratelimit.money_burst;
    if (r->caller != NULL) {
        snprintf(b[n].key, sizeof(b[n].key), "vas:rl:{%s}:%s", r->caller, name);
        b[n].per_min = per_min;
        b[n].burst = burst;
        n++;
    }
    if (r->remote_addr != NULL && r->remote_addr[0] != '\0'
        && strlen(r->remote_addr) <= GW_REQUEST_ID_MAX) {
        snprintf(b[n].key, sizeof(b[n].key), "vas:rl:{ip:%s}:%s",
                 r->remote_addr, name);
        b[n].per_min = per_min * cfg->ratelimit.addr_factor;
        b[n].burst = burst * cfg->ratelimit.addr_factor;
        n++;
    }
    return n;
}

int
gw_ratelimit_take(struct gw_request *r)
{
    struct gw_rl_bucket b[2];
    enum gw_rl_class    c;
    int64_t             wait_ms = 0, now;
    char                ra[24];
    int                 n, rc;

    c = gw_ratelimit_class(r->route);
    if (!r->cfg->ratelimit.enabled || c == GW_RL_OFF) {
        return GW_OK;
    }
    n = gw_rl_buckets(r, c, b);
    now = gw_now_ms();
    rc = GW_EUNAVAIL;
    if (n > 0 && now >= gw_rl_down_until_ms) {
        rc = gw_rl_eval(&r->thr->redis, b, n, &wait_ms);
    } else if (n == 0) {
        rc = GW_OK;
    }
    if (rc != GW_OK) {
        if (now >= gw_rl_down_until_ms) {
            gw_rl_down_until_ms = now + GW_RL_BACKOFF_MS;
        }
        if (c != GW_RL_READ && r->cfg->ratelimit.writes_fail_closed) {
            gw_request_problem(r, "rate limiter unavailable");
            return GW_EUNAVAIL;
        }
        return GW_OK; /* fail open, see gw_ratelimit.h */
    }
    if (wait_ms == 0) {
        return GW_OK;
    }
    snprintf(ra, sizeof(ra), "%lld", (long long) ((wait_ms + 999) / 1000));
    gw_reply_header(r, "Retry-After", ra);
    gw_request_problem(r, "too many %s requests; retry after %s s",
                       gw_ratelimit_class_name(c), ra);
    return GW_ERATE;
}
