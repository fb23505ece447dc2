/*
 * gw_ratelimit.c — the token bucket script, its one round trip and the
 * worker's leases on buckets (gw_ratelimit.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "gw_log.h"
#include "gw_ratelimit.h"
#include "gw_request.h"
#include "gw_rltable.h"
#include "gw_router.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "gw_util.h"

/*
 * KEYS[1] the bucket; ARGV[1] tokens per minute, ARGV[2] burst, ARGV[3]
 * tokens wanted (a lease, or 1), ARGV[4] unspent tokens of an old lease
 * given back first. A bucket is a hash {t = tokens, ts = last refill ms};
 * a missing one is full. It expires once it would be full again, so idle
 * callers cost no memory. Returns {tokens granted (1..wanted), 0} or
 * {0, ms until one token is there}.
 */
static const char gw_rl_script[] =
    "local rate = tonumber(ARGV[1]) / 60000\n"
    "local burst = tonumber(ARGV[2])\n"
    "local want = tonumber(ARGV[3]) or 1\n"
    "local back = tonumber(ARGV[4]) or 0\n"
    "local now = redis.call('TIME')\n"
    "now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)\n"
    "local b = redis.call('HMGET', KEYS[1], 't', 'ts')\n"
    "local t, ts = tonumber(b[1]), tonumber(b[2])\n"
    "if t == nil or ts == nil then t, ts = burst, now end\n"
    "if now > ts then t = t + (now - ts) * rate; ts = now end\n"
    "t = math.min(burst, t + back)\n"
    "local got, wait = 0, 0\n"
    "if t >= 1 then got = math.min(want, math.floor(t)); t = t - got else "
    "wait = math.ceil((1 - t) / rate) end\n"
    "redis.call('HSET', KEYS[1], 't', tostring(t), 'ts', tostring(ts))\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil((burst - t) / rate) + 1000)\n"
    "return {got, wait}\n";

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

/* This worker's leases (gw_rltable.h); gw_rl_mu guards them. */
static struct gw_rltable gw_rl_table;
static pthread_mutex_t   gw_rl_mu = PTHREAD_MUTEX_INITIALIZER;

struct gw_rl_bucket {
    char     key[GW_REQUEST_ID_MAX + GW_USER_ID_MAX + 32];
    int64_t  per_min, burst;
    uint64_t hash;
    int64_t  want, back; /* what the script is asked for / given back */
    int      remote;     /* needs the round trip */
    int      lease;      /* want is this worker's lease (renewing is ours) */
    int      topup;      /* ...topped up: this request took a leased token */
    int      redo;       /* in the round trip under way (NOSCRIPT: again) */
    int64_t  got, wait;  /* the script's answer */
};

/* The refill thread's queue of lease top-ups (gw_rl_mu guards it). */
static struct {
    int                     on; /* the thread runs: top-ups go to it */
    int                     n;
    struct gw_rl_bucket     jobs[GW_RL_REFILL_QUEUE];
    pthread_cond_t          cv;
    const struct gw_config *cfg;
} gw_rl_refill = {.cv = PTHREAD_COND_INITIALIZER};

/*
 * The limiter's clock: monotonic (a refusal's wait survives a wall clock
 * step) and coarse (a tick, ~4 ms, is plenty next to lease_ms and
 * Retry-After seconds, and it is read from memory on every request).
 */
static int64_t
gw_rl_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
gw_ratelimit_lease_size(int64_t burst, int64_t workers, int64_t lease_max)
{
    int64_t n = burst / (GW_RL_LEASE_SHARE * (workers > 0 ? workers : 1));

    if (n > lease_max) {
        n = lease_max;
    }
    return n < 1 ? 1 : n;
}

/* FNV-1a: the slot and identity of a bucket key in the lease table. */
static uint64_t
gw_rl_hash(const char *s)
{
    uint64_t h = gw_hash_str(s);

    return h != 0 ? h : 1;
}

/*
 * What one bucket needs (locked). A lease with tokens pays for this
 * request; once that leaves half a lease or less, a top-up of the lease is
 * due. With the refill thread (async) the top-up goes to it and the
 * request never waits; a lease older than lease_ms is spent too and its
 * rest goes back in that top-up. Without it (sync) the top-up travels with
 * this request, and a stale lease is renewed by it.
 * A spent lease is renewed by the request; while another top-up is under
 * way, single tokens. No lease (l NULL: its table set is busy): a single
 * token.
 */
static void
gw_rl_plan(struct gw_rl_lease *l, struct gw_rl_bucket *b, int64_t now,
           int64_t lease_ms, int64_t size, int async)
{
    int stale;

    b->remote = 1, b->lease = 0, b->topup = 0, b->want = 1, b->back = 0;
    if (l == NULL) {
        return;
    }
    stale = now - l->leased_ms >= lease_ms;
    if (l->tokens > 0 && (async || !stale)) {
        l->tokens--;
        b->remote = 0;
        if (l->renewing || size < 2 || (!stale && l->tokens > size / 2)) {
            return;
        }
        b->remote = 1, b->topup = 1;
        b->want = size - l->tokens;
        if (stale) { /* async: the rest goes back, a fresh lease comes */
            b->want = size, b->back = l->tokens, l->tokens = 0;
        }
    } else if (l->renewing || size < 2) {
        return;
    } else {
        b->want = size;
        b->back = l->tokens; /* a stale lease goes back */
        l->tokens = 0;
    }
    b->lease = 1;
    l->renewing = 1;
}

/*
 * Hands a planned top-up to the refill thread (locked); this request has
 * its token already. A full queue drops the top-up (the lease runs down
 * and is renewed on a request's path).
 */
static void
gw_rl_refill_put(struct gw_rl_lease *l, struct gw_rl_bucket *b)
{
    if (gw_rl_refill.n < GW_RL_REFILL_QUEUE) {
        gw_rl_refill.jobs[gw_rl_refill.n++] = *b;
    } else {
        l->renewing = 0;
        l->tokens += b->back;
    }
    b->remote = 0;
}

/*
 * Decides what can be decided locally. Returns the longest wait (ms) of a
 * bucket still refused (nothing taken then), else 0 with each bucket
 * planned (gw_rl_plan) and the top-ups handed to the refill thread.
 */
static int64_t
gw_rl_local(struct gw_rl_bucket *b, int n, int64_t now,
            const struct gw_config *cfg)
{
    struct gw_rl_lease *l[2] = {NULL, NULL};
    int64_t             wait = 0, size;
    int                 i, async, wake = 0;

    pthread_mutex_lock(&gw_rl_mu);
    for (i = 0; i < n; i++) {
        /* the request's buckets never evict each other's lease */
        l[i] =
            gw_rltable_get(&gw_rl_table, b[i].hash, i > 0 ? l[0] : NULL, now);
        if (gw_rltable_wait(l[i], now) > wait) {
            wait = gw_rltable_wait(l[i], now);
        }
    }
    async = gw_rl_refill.on;
    for (i = 0; i < n && wait == 0; i++) {
        size = gw_ratelimit_lease_size(b[i].burst, cfg->server.workers,
                                       cfg->ratelimit.lease_max);
        gw_rl_plan(l[i], &b[i], now, cfg->ratelimit.lease_ms, size, async);
        if (async && b[i].topup && l[i] != NULL) { /* a top-up has a lease */
            gw_rl_refill_put(l[i], &b[i]);
            wake = 1;
        }
    }
    if (wake) {
        pthread_cond_signal(&gw_rl_refill.cv);
    }
    pthread_mutex_unlock(&gw_rl_mu);
    return wait;
}

/* Books Redis' answers (ok = the round trip worked) into the table. */
static void
gw_rl_settle(struct gw_rl_bucket *b, int n, int ok, int64_t now)
{
    struct gw_rl_lease *l;
    int                 i;

    pthread_mutex_lock(&gw_rl_mu);
    for (i = 0; i < n; i++) {
        l = gw_rltable_find(&gw_rl_table, b[i].hash);
        if (!b[i].remote || l == NULL) {
            continue; /* local, or no lease (a renewing one is kept) */
        }
        if (b[i].lease) {
            l->renewing = 0;
        }
        if (!ok) {
            continue;
        }
        if (b[i].got == 0 && b[i].wait > 0 && !b[i].topup) {
            l->blocked_until = now + b[i].wait;
        } else if (b[i].lease && b[i].got > !b[i].topup) {
            /* one is this request's, unless it was served already */
            l->tokens += b[i].got - !b[i].topup;
            l->leased_ms = now;
        }
    }
    pthread_mutex_unlock(&gw_rl_mu);
}

/* Sends EVALSHA (or EVAL when load) for the buckets to redo, pipelined. */
static int
gw_rl_send(struct gw_redis *rd, const struct gw_rl_bucket *b, int n, int load)
{
    char        rate[24], burst[24], want[24], back[24];
    const char *argv[8];
    size_t      len[8];
    int         i, k;

    for (i = 0; i < n; i++) {
        if (!b[i].redo) {
            continue;
        }
        snprintf(rate, sizeof(rate), "%lld", (long long) b[i].per_min);
        snprintf(burst, sizeof(burst), "%lld", (long long) b[i].burst);
        snprintf(want, sizeof(want), "%lld", (long long) b[i].want);
        snprintf(back, sizeof(back), "%lld", (long long) b[i].back);
        argv[0] = load ? "EVAL" : "EVALSHA";
        argv[1] = load ? gw_rl_script : gw_rl_sha;
        argv[2] = "1";
        argv[3] = b[i].key;
        argv[4] = rate;
        argv[5] = burst;
        argv[6] = want;
        argv[7] = back;
        for (k = 0; k < 8; k++) {
            len[k] = strlen(argv[k]);
        }
        if (redisAppendCommandArgv(rd->ctx, 8, argv, len) != REDIS_OK) {
            return GW_EUNAVAIL;
        }
    }
    return GW_OK;
}

/*
 * Reads the replies of the buckets sent into got/wait. *noscript = 1 when
 * Redis did not know the script; only those buckets keep redo (another
 * connection may load the script between two calls of one pipeline: a
 * call that ran must not run again, its tokens would be taken twice).
 */
static int
gw_rl_recv(struct gw_redis *rd, struct gw_rl_bucket *b, int n, int *noscript)
{
    redisReply *rep;
    int         i, rc, out = GW_OK;

    *noscript = 0;
    for (i = 0; i < n; i++) {
        if (!b[i].redo) {
            continue;
        }
        rc = gw_redis_pipeline_get(rd, &rep);
        if (rc == GW_EUNAVAIL) {
            return rc; /* the connection is gone: nothing left to read */
        }
        b[i].redo = rc == GW_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0;
        if (b[i].redo) {
            *noscript = 1;
        } else if (rc == GW_ERROR) {
            gw_log_error(rd->rid, "rate limit script: %s", rep->str);
            out = GW_ERROR;
        } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2
                   && rep->element[0]->type == REDIS_REPLY_INTEGER
                   && rep->element[1]->type == REDIS_REPLY_INTEGER) {
            b[i].got = rep->element[0]->integer;
            b[i].wait = b[i].got > 0 ? 0 : rep->element[1]->integer + 1;
        } else {
            out = GW_ERROR;
        }
        freeReplyObject(rep);
    }
    return *noscript && out == GW_OK ? GW_OK : out;
}

/*
 * One round trip (two after a NOSCRIPT: EVAL for the buckets that had it)
 * for the remote buckets.
 */
static int
gw_rl_eval(struct gw_redis *rd, struct gw_rl_bucket *b, int n)
{
    int i, rc, noscript, load;

    gw_rl_sha_init();
    for (i = 0; i < n; i++) {
        b[i].redo = b[i].remote;
    }
    for (load = 0; load < 2; load++) {
        rc = gw_redis_connect(rd);
        if (rc == GW_OK) {
            rc = gw_rl_send(rd, b, n, load);
        }
        if (rc == GW_OK) {
            rc = gw_rl_recv(rd, b, n, &noscript);
        }
        if (rc != GW_OK || !noscript) {
            return rc;
        }
    }
    return GW_ERROR;
}

/* key = "vas:rl:{" tag id "}:" cls (fits: gw_rl_buckets checks id). */
static void
gw_rl_key(char *key, const char *tag, const char *id, const char *cls)
{
    const char *part[] = {"vas:rl:{", tag, id, "}:", cls};
    size_t      n = 0, k, i;

    for (i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
        k = strlen(part[i]);
        memcpy(key + n, part[i], k);
        n += k;
    }
    key[n] = '\0';
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
    memset(b, 0, 2 * sizeof(*b));
    if (r->caller != NULL && strlen(r->caller) < sizeof(b[n].key) - 32) {
        gw_rl_key(b[n].key, "", r->caller, name);
        b[n].per_min = per_min;
        b[n].burst = burst;
        n++;
    }
    if (r->remote_addr != NULL && r->remote_addr[0] != '\0'
        && strlen(r->remote_addr) <= GW_REQUEST_ID_MAX) {
        gw_rl_key(b[n].key, "ip:", r->remote_addr, name);
        b[n].per_min = per_min * cfg->ratelimit.addr_factor;
        b[n].burst = burst * cfg->ratelimit.addr_factor;
        n++;
    }
    for (int i = 0; i < n; i++) {
        b[i].hash = gw_rl_hash(b[i].key);
    }
    return n;
}

/* The buckets' verdict: GW_OK, or the longest wait of a refusal. */
static int
gw_rl_decide(struct gw_request *r, struct gw_rl_bucket *b, int n, int64_t now,
             int64_t *wait_ms)
{
    const struct gw_config *cfg = r->cfg;
    int                     i, remote = 0, rc;

    *wait_ms = gw_rl_local(b, n, now, cfg);
    for (i = 0; i < n; i++) {
        remote += b[i].remote;
    }
    if (*wait_ms > 0 || remote == 0) {
        return GW_OK;
    }
    rc = now >= gw_rl_down_until_ms ? gw_rl_eval(&r->thr->redis, b, n)
                                    : GW_EUNAVAIL;
    gw_rl_settle(b, n, rc == GW_OK, now);
    for (i = 0; rc == GW_OK && i < n; i++) {
        if (b[i].remote && !b[i].topup && b[i].got == 0
            && b[i].wait > *wait_ms) {
            *wait_ms = b[i].wait;
        }
    }
    return rc;
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
    if (n == 0) {
        return GW_OK;
    }
    now = gw_rl_clock_ms();
    rc = gw_rl_decide(r, b, n, now, &wait_ms);
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

/*
 * The refill thread: takes the queued top-ups, sends them in one pipelined
 * round trip on its own connection and books the answers; it never holds
 * the lease table's lock across the round trip. Redis failing: the
 * top-ups are dropped (their leases run down and are renewed on a
 * request's path, which applies the fail-open/closed choice) and Redis is
 * skipped for GW_RL_BACKOFF_MS.
 */
static void *
gw_rl_refill_main(void *arg)
{
    static struct gw_rl_bucket jobs[GW_RL_REFILL_QUEUE];
    struct gw_redis            rd;
    int64_t                    down_until = 0, now;
    int                        n, rc;

    (void) arg;
    gw_redis_init(&rd, gw_rl_refill.cfg);
    pthread_mutex_lock(&gw_rl_mu);
    for (;;) {
        while (gw_rl_refill.n == 0) {
            pthread_cond_wait(&gw_rl_refill.cv, &gw_rl_mu);
        }
        n = gw_rl_refill.n;
        memcpy(jobs, gw_rl_refill.jobs, (size_t) n * sizeof(jobs[0]));
        gw_rl_refill.n = 0;
        pthread_mutex_unlock(&gw_rl_mu);
        now = gw_rl_clock_ms();
        rc = now >= down_until ? gw_rl_eval(&rd, jobs, n) : GW_EUNAVAIL;
        if (rc != GW_OK && now >= down_until) {
            down_until = now + GW_RL_BACKOFF_MS;
        }
        gw_rl_settle(jobs, n, rc == GW_OK, gw_rl_clock_ms());
        pthread_mutex_lock(&gw_rl_mu);
    }
    return NULL;
}

int
gw_ratelimit_start(const struct gw_config *cfg)
{
    pthread_attr_t attr;
    pthread_t      tid;
    int            rc;

    if (!cfg->ratelimit.enabled) {
        return GW_OK;
    }
    gw_rl_refill.cfg = cfg;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, GW_THREAD_STACK_BYTES);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &attr, gw_rl_refill_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        return GW_ERROR;
    }
    pthread_mutex_lock(&gw_rl_mu);
    gw_rl_refill.on = 1;
    pthread_mutex_unlock(&gw_rl_mu);
    return GW_OK;
}
