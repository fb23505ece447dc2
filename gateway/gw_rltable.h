/*
 * gw_rltable.h — a worker's table of rate-limit leases (gw_ratelimit.h):
 * GW_RL_LEASE_SLOTS slots in sets of GW_RL_LEASE_WAYS. A bucket key's
 * hash picks its set, and the key may take any slot of that set, so keys
 * that share a set keep their leases side by side.
 *
 * A new key takes a free slot of its set, else the least recently used
 * one, whose unspent tokens are dropped (fewer admitted, never more) —
 * but never a slot that is renewing (a Redis grant for it is on the way
 * and would be lost) nor the one the caller keeps (the request's other
 * bucket). A key for which every slot of its set is excluded gets no
 * lease this time: its request takes a single token from Redis (exact).
 * A lease is lost only to GW_RL_LEASE_WAYS other keys of its set, all
 * used after it.
 *
 * Why: with one slot per hash, a request whose caller bucket and address
 * bucket hashed to the same slot (1 in GW_RL_LEASE_SLOTS callers) evicted
 * one lease with the other on every request, so each request took a whole
 * lease from both buckets and spent one token of each.
 *
 * Not thread-safe: the caller serialises (gw_ratelimit.c's mutex).
 * Allocates nothing.
 */
#ifndef GW_RLTABLE_H
#define GW_RLTABLE_H

#include <stdint.h>

#include "gw_limits.h"

struct gw_rl_lease {
    uint64_t hash;          /* of the bucket key; 0 = free */
    int64_t  tokens;        /* leased, not spent yet */
    int64_t  leased_ms;     /* when Redis granted them */
    int64_t  blocked_until; /* Redis refused: 429 locally until then */
    int64_t  used_ms;       /* the last gw_rltable_get of it */
    int      renewing;      /* a thread of this worker is asking Redis */
};

struct gw_rltable {
    struct gw_rl_lease slot[GW_RL_LEASE_SLOTS];
};

/*
 * The lease of hash (not 0), claimed and zeroed when the key is new;
 * used_ms set to now_ms. keep (may be NULL) is never evicted. NULL when
 * the key is new and every slot of its set is renewing or kept.
 */
struct gw_rl_lease *gw_rltable_get(struct gw_rltable *t, uint64_t hash,
                                   const struct gw_rl_lease *keep,
                                   int64_t                   now_ms);

/* The lease of hash, or NULL (never claimed, or evicted since). */
struct gw_rl_lease *gw_rltable_find(struct gw_rltable *t, uint64_t hash);

/*
 * How long (ms) the worker still answers 429 for l's bucket from memory:
 * until blocked_until, but 0 while it holds tokens of the bucket (they
 * left Redis already: spending them never exceeds the bucket, and a
 * grant that lands after a concurrent refusal is not stranded).
 */
int64_t gw_rltable_wait(const struct gw_rl_lease *l, int64_t now_ms);

#endif /* GW_RLTABLE_H */
