/*
 * gw_rltable.c — the set-associative lease table (gw_rltable.h).
 */
#include <string.h>

#include "gw_rltable.h"

_Static_assert(GW_RL_LEASE_SLOTS % GW_RL_LEASE_WAYS == 0,
               "the lease table is whole sets");

/* The first slot of hash's set. */
static struct gw_rl_lease *
gw_rltable_set(struct gw_rltable *t, uint64_t hash)
{
    return &t->slot[(hash % (GW_RL_LEASE_SLOTS / GW_RL_LEASE_WAYS))
                    * GW_RL_LEASE_WAYS];
}

struct gw_rl_lease *
gw_rltable_find(struct gw_rltable *t, uint64_t hash)
{
    struct gw_rl_lease *s = gw_rltable_set(t, hash);
    int                 i;

    for (i = 0; i < GW_RL_LEASE_WAYS; i++) {
        if (s[i].hash == hash) {
            return &s[i];
        }
    }
    return NULL;
}

struct gw_rl_lease *
gw_rltable_get(struct gw_rltable *t, uint64_t hash,
               const struct gw_rl_lease *keep, int64_t now_ms)
{
    struct gw_rl_lease *s = gw_rltable_set(t, hash), *l = NULL;
    int                 i;

    for (i = 0; i < GW_RL_LEASE_WAYS; i++) {
        if (s[i].hash == hash) {
            s[i].used_ms = now_ms;
            return &s[i];
        }
        if (s[i].hash == 0) {
            l = l != NULL && l->hash == 0 ? l : &s[i];
        } else if (!s[i].renewing && &s[i] != keep
                   && (l == NULL
                       || (l->hash != 0 && s[i].used_ms < l->used_ms))) {
            l = &s[i]; /* least recently used so far */
        }
    }
    if (l != NULL) {
        memset(l, 0, sizeof(*l)); /* an evicted key's lease is dropped */
        l->hash = hash;
        l->used_ms = now_ms;
    }
    return l;
}

int64_t
gw_rltable_wait(const struct gw_rl_lease *l, int64_t now_ms)
{
    if (l == NULL || l->tokens > 0 || l->blocked_until <= now_ms) {
        return 0;
    }
    return l->blocked_until - now_ms;
}
