/*
 * gw_ratelimit.h — token buckets in Redis, per caller (IM user or admin
 * key) and per client address, by route class.
 *
 * Each route has a class (gw_router.h: GW_ROUTE_RL_* flags, else derived:
 * Idempotency-Key routes are money, other GETs are reads, other methods
 * writes, trusted/unlogged ops routes are off). Each class has a rate
 * (tokens per minute) and a burst in [ratelimit] of the config; the
 * address bucket gets addr_factor times both (many users share an address
 * behind NAT). One request costs one token from each bucket.
 *
 * Leases (the Doorman / Envoy local+global idea): a worker process takes
 * up to `lease` tokens from a Redis bucket in one script call and spends
 * them locally. lease = min(ratelimit.lease_max, burst / (GW_RL_LEASE_SHARE
 * x workers)), at least 1, so small buckets (money: burst 10) are exact as
 * without leases. Tokens leave the Redis bucket before they are spent, so
 * the sustained rate is exact; what leases change:
 *   overshoot   in any window a bucket admits at most burst + rate x T
 *               + workers x lease (the leases held when the window began:
 *               at most burst / GW_RL_LEASE_SHARE);
 *   early 429   a caller may be refused while up to (workers - 1) x lease
 *               of its tokens sit unspent in other workers (returned at
 *               their next renewal).
 * A worker never holds more than `lease` tokens of a bucket, counting a
 * top-up under way. Off the request's path: once half a lease is spent, or
 * the lease is older than ratelimit.lease_ms (its unspent rest is given
 * back in the same call), the request that noticed it takes its token from
 * the lease and hands the top-up to the worker's refill thread
 * (gw_ratelimit_start), which sends the queued top-ups in one pipelined
 * round trip. A request waits for Redis only for a bucket it has no tokens
 * of: a new or spent lease (renewed on its path), or a small bucket; while
 * a top-up is under way, a spent lease is bridged with single tokens.
 * Without the refill thread (it failed to start) top-ups travel with the
 * request that noticed them. A refused bucket is remembered by the worker
 * until Redis' Retry-After has passed: a throttled key stays throttled
 * without a round trip (tokens the worker still holds of it are spent
 * first: they left Redis already). Leases live in a per-process table
 * (gw_rltable.h: sets of GW_RL_LEASE_WAYS slots by hash of the key); the
 * two buckets of one request never evict each other, and a key whose
 * lease is evicted (by GW_RL_LEASE_WAYS keys of its set, all used after
 * it) loses its unspent tokens: fewer admitted, never more.
 *
 * Round trips: the EVALSHA calls of one Lua script (one per bucket that
 * needs Redis, so each key keeps its own {hash tag} for Redis Cluster) are
 * pipelined; the script's SHA-1 is computed once, and a NOSCRIPT reply (a
 * restarted or flushed Redis) is answered with EVAL, which loads it again.
 * The script reads Redis' own clock (TIME), so gateway hosts need not agree.
 *
 * Redis down: reads are served (fail open); writes and money writes are
 * served too unless ratelimit.writes_fail_closed = 1 (503). The default is
 * open because DESIGN.md requires purchases to succeed without Redis; what
 * protects money is the conditional debit, caps and idempotency, not the
 * limiter. After a failure a thread skips Redis for GW_RL_BACKOFF_MS
 * (tokens already leased are still spent); the refill thread drops its
 * top-ups then (their leases run down and the next renewal, on a
 * request's path, makes the fail-open/closed choice).
 * Thread-safety: the lease table and the refill queue share one mutex
 * (never held across a round trip; a request takes it once); a request's
 * Redis calls use the calling thread's gw_redis, the refill thread has its
 * own connection.
 */
#ifndef GW_RATELIMIT_H
#define GW_RATELIMIT_H

#include <stdint.h>

struct gw_config;
struct gw_request;
struct gw_route;

enum gw_rl_class {
    GW_RL_AUTO = 0, /* derived from method and flags */
    GW_RL_READ = 1,
    GW_RL_WRITE = 2,
    GW_RL_MONEY = 3,
    GW_RL_OFF = 4,
};

/* The class of route rt (never GW_RL_AUTO). */
enum gw_rl_class gw_ratelimit_class(const struct gw_route *rt);

/* The lease a worker takes from a bucket of that burst (see above). */
int64_t gw_ratelimit_lease_size(int64_t burst, int64_t workers,
                                int64_t lease_max);

/* "read", "write", "money", "off". */
const char *gw_ratelimit_class_name(enum gw_rl_class c);

/*
 * Starts this worker process' refill thread (after fork; once): lease
 * top-ups then leave the request's path. GW_OK (also when the limiter is
 * off) or GW_ERROR (no thread: top-ups stay on the request's path).
 */
int gw_ratelimit_start(const struct gw_config *cfg);

/*
 * Takes one token for r (r->caller may be NULL: address only). GW_OK;
 * GW_ERATE with a Retry-After header and detail set on r; GW_EUNAVAIL
 * when Redis is down and the class fails closed.
 */
int gw_ratelimit_take(struct gw_request *r);

#endif /* GW_RATELIMIT_H */
