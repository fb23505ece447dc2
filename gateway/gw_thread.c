/*
 * gw_thread.c — per-thread state; the stop flag shared by a process.
 */
#include <signal.h>
#include <time.h>

#include "gw_thread.h"

volatile sig_atomic_t gw_stop_flag;

int
gw_thread_init(struct gw_thread *t, const struct gw_config *cfg, int index)
{
    t->index = index;
    t->cfg = cfg;
    t->admin_cache.hash[0] = '\0';
    t->admin_cache.id = 0;
    gw_db_init(&t->db, cfg);
    gw_redis_init(&t->redis, cfg);
    return gw_arena_init(&t->arena);
}

void
gw_thread_fini(struct gw_thread *t)
{
    gw_db_fini(&t->db);
    gw_redis_fini(&t->redis);
    gw_arena_fini(&t->arena);
}

int
gw_role_stopping(void)
{
    return gw_stop_flag != 0;
}

void
gw_role_sleep_ms(int64_t ms)
{
    struct timespec ts;

    while (ms > 0 && !gw_stop_flag) {
        int64_t step = ms > 100 ? 100 : ms;
        ts.tv_sec = 0;
        ts.tv_nsec = (long) step * 1000000L;
        nanosleep(&ts, NULL);
        ms -= step;
    }
}
