/*
 * svc_relay.h — the relay role: copies undelivered outbox rows to Redis
 * (the notification stream and the users' inboxes) and, on a second thread
 * of the same process, delivers webhook events (svc_webhook.h). Several
 * relays may run at once, on several hosts: rows are claimed with
 * SELECT … FOR UPDATE SKIP LOCKED, so no two relays hold the same row.
 *
 * Delivery is at-least-once: claim → pipeline to Redis → mark delivered →
 * COMMIT. A crash before COMMIT releases the claim and the rows are sent
 * again; consumers de-duplicate on the notification id.
 *
 * Not thread-safe: one struct gw_thread per loop.
 */
#ifndef SVC_RELAY_H
#define SVC_RELAY_H

#include <stdint.h>

struct gw_redis;
struct gw_thread;

#define SVC_RELAY_BACKOFF_MIN_MS 100  /* first pause after a failure */
#define SVC_RELAY_BACKOFF_MAX_MS 2000 /* cap of the exponential pause */
#define SVC_RELAY_GAUGE_EVERY_MS 1000 /* backlog gauges refresh */
#define SVC_RELAY_ERROR_RETRY_S  60   /* a row Redis refused waits */

/* Registers every relay/webhook metric (before gw_metrics_init). 0 or -1. */
int svc_relay_metrics_register(void);

/* Metric updates shared with svc_notify.c and svc_webhook.c. */
void svc_relay_metrics_direct(void);
void svc_relay_metrics_webhook(int outcome, int64_t latency_ms);

/* Webhook outcomes for svc_relay_metrics_webhook. */
enum svc_relay_wh_outcome {
    SVC_RELAY_WH_DELIVERED,
    SVC_RELAY_WH_RETRY, /* failed attempt, retry scheduled */
    SVC_RELAY_WH_DEAD   /* last retry failed: dead-lettered */
};

/*
 * One batch: claims up to relay.batch rows, pipelines them to Redis, marks
 * them delivered, commits. *moved = rows delivered. GW_OK (also when there
 * was nothing to do), GW_EUNAVAIL (Redis or MariaDB down: back off),
 * GW_ERETRY, GW_ERROR. Resets t->arena.
 */
int svc_relay_batch(struct gw_thread *t, int64_t *moved);

/*
 * XGROUP CREATE <notify_stream> group start_id MKSTREAM: creates the
 * consumer group (and the stream) if missing; an existing group is GW_OK.
 */
int svc_relay_group_ensure(struct gw_redis *r, const char *group,
                           const char *start_id);

/* The next back-off pause after prev_ms (0 = first failure). */
int64_t svc_relay_backoff_next(int64_t prev_ms);

#endif /* SVC_RELAY_H */
