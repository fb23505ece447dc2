/*
 * ntf_relay.h — the relay role: copies undelivered outbox rows (written by
 * gw_outbox_add inside money transactions) to Redis in the ntf_wire.h
 * format, and runs webhook delivery (ntf_webhook.h) on a second thread of
 * the same process. Several relays may run at once, on several hosts: rows
 * are claimed with SELECT … FOR UPDATE SKIP LOCKED, so no two relays hold
 * the same row.
 *
 * Delivery is at-least-once: claim → pipeline to Redis → mark delivered →
 * COMMIT. A crash before COMMIT releases the claim and the rows are sent
 * again; consumers de-duplicate on the notification id. Redis down: the
 * rows wait in MariaDB.
 *
 * One relay process runs relay.threads loops (threads, each with its own
 * connections): SKIP LOCKED splits the rows between them as between hosts.
 *
 * Not thread-safe: one struct gw_thread per loop.
 */
#ifndef NTF_RELAY_H
#define NTF_RELAY_H

#include <stdint.h>

struct gw_arena;
struct gw_db;
struct gw_redis;
struct gw_thread;

#define NTF_RELAY_GAUGE_EVERY_MS 1000 /* backlog gauges refresh */
#define NTF_RELAY_ERROR_RETRY_S  60   /* a row Redis refused waits */
#define NTF_RELAY_THREADS_MAX    8    /* relay.threads ceiling */
#define NTF_RELAY_RESCAN_EVERY   8    /* batches between claims from id 0 */

/* Registers the relay's metrics (before gw_metrics_init). 0 or -1. */
int ntf_relay_metrics_register(void);

/* The relay role's body (runs in its own process under the master). */
int ntf_relay_run(struct gw_thread *t);

/*
 * Where one relay loop's claims start scanning (ntf_relay.c): from the
 * highest id claimed in this process, and from the start every
 * NTF_RELAY_RESCAN_EVERY batches and after a batch that was not full, so a
 * row passed over (locked, committed late) waits a few batches at most.
 * Zero-initialise one per loop.
 */
struct ntf_relay_scan {
    int64_t batches; /* claims since the last one from the start */
    int     rescan;  /* 1: the next claim starts from the start */
};

/*
 * One batch: claims up to relay.batch rows, pipelines them to Redis,
 * deletes their queue entries, commits. scan: the loop's scan state (NULL:
 * always from the start). *moved = rows delivered. GW_OK (also when there
 * was nothing to do), GW_EUNAVAIL (Redis or MariaDB down: back off),
 * GW_ERETRY, GW_ERROR. Resets t->arena.
 */
int ntf_relay_batch(struct gw_thread *t, struct ntf_relay_scan *scan,
                    int64_t *moved);

/*
 * XGROUP CREATE <notify_stream> group start_id MKSTREAM: creates the
 * consumer group (and the stream) if missing; an existing group is GW_OK.
 */
int ntf_relay_group_ensure(struct gw_redis *r, const char *group,
                           const char *start_id);

/* The relay backlog for operators: undelivered rows, oldest one's age. */
struct ntf_relay_backlog {
    int64_t count;
    int64_t oldest_age_ms; /* 0 when empty */
};

/* Reads the backlog (a short read, no locks). GW_OK or a db status. */
int ntf_relay_backlog_get(struct gw_db *db, struct gw_arena *a,
                          struct ntf_relay_backlog *out);

#endif /* NTF_RELAY_H */
