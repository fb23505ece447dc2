/*
 * gw_thread.h — what one serving thread (or one role process) owns: its
 * arena, its MariaDB and Redis connections. Built once per thread in an
 * explicit init chain, reused for every request, torn down at exit.
 */
#ifndef GW_THREAD_H
#define GW_THREAD_H

#include "gw_arena.h"
#include "gw_config.h"
#include "gw_db.h"
#include "gw_redis.h"

struct gw_thread {
    int                     index;
    const struct gw_config *cfg;
    struct gw_arena         arena;
    struct gw_db            db;
    struct gw_redis         redis;
    struct { /* last admin key seen (gw_http.c) */
        char    hash[65];
        int64_t id;
        int64_t checked_ms;
    } admin_cache;
};

/* 0 or -1 (out of memory). Connections open lazily on first use. */
int gw_thread_init(struct gw_thread *t, const struct gw_config *cfg, int index);
void gw_thread_fini(struct gw_thread *t);

/*
 * Background roles (outbox relay, janitor…): each runs in its own process
 * supervised by the master like a worker. run() loops until
 * gw_role_stopping() is true, sleeping with gw_role_sleep_ms() between
 * rounds, and returns 0 (or non-zero to be restarted with back-off).
 */
struct gw_role {
    const char *name;
    int (*run)(struct gw_thread *t);
};

/* True once SIGTERM reached this process (workers and roles). */
int gw_role_stopping(void);

/* Sleeps up to ms, waking early when stopping. */
void gw_role_sleep_ms(int64_t ms);

#endif /* GW_THREAD_H */
