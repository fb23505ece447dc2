/*
 * ntf_webhook.h — webhook events to content providers, delivered by the
 * relay role on its own thread (never on the request path, never in the
 * way of IM notifications).
 *
 * An event is POSTed as {"id","type","created_at","data"} (ntf_item_json)
 * to the provider's webhook_url with the header
 *     Vas-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
 * "<t>.<body>")> (docs/notifications.md has the verification recipe). 2xx =
 * delivered; anything else is retried after relay.webhook_schedule_s[attempt-1]
 * seconds, and after the last delay the event is dead-lettered ('failed').
 *
 * Refused, and dead-lettered at once with the reason in last_error: a
 * provider without a signing secret, and a URL whose address (as resolved
 * at connect time, so DNS rebinding cannot slip past) is loopback,
 * link-local, private, shared, multicast or reserved, unless the operator
 * allowlisted its network (relay.webhook_allow_nets). Transport errors are
 * recorded as a few fixed messages, never curl's own text, so last_error
 * cannot be used to scan ports.
 *
 * Claims use SELECT … FOR UPDATE SKIP LOCKED and a lease (next_attempt_at
 * moved past the longest possible attempt) committed before any HTTP, so
 * two relays never send the same attempt concurrently, and a relay that
 * dies mid-attempt only delays that event until the lease ends.
 */
#ifndef NTF_WEBHOOK_H
#define NTF_WEBHOOK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_config.h"

struct gw_arena;
struct sockaddr;
struct gw_buf;
struct gw_db;

#define NTF_WEBHOOK_BATCH         8           /* events claimed at once */
#define NTF_WEBHOOK_SCHEDULE_MAX  32          /* retry delays */
#define NTF_WEBHOOK_DELAY_MAX_S   (7 * 86400) /* one retry delay */
#define NTF_WEBHOOK_RESPONSE_MAX  (64 * 1024) /* response bytes read */
#define NTF_WEBHOOK_LEASE_SLACK_S 30          /* lease beyond the timeouts */
#define NTF_WEBHOOK_IDLE_MS       250         /* pause when nothing is due */
#define NTF_WEBHOOK_SIG_MAX       128         /* "t=…,v1=<64 hex>" */
#define NTF_WEBHOOK_ERROR_MAX     255         /* last_error column */
#define NTF_WEBHOOK_DEAD_PAGE_MAX 100         /* dead letters per page */
#define NTF_WEBHOOK_NETS_MAX      32          /* allowlisted networks */

/* A network: family AF_INET or AF_INET6, address bytes, prefix length. */
struct ntf_net {
    int           family;
    unsigned char addr[16];
    int           prefix;
};

struct ntf_webhook_nets {
    struct ntf_net net[NTF_WEBHOOK_NETS_MAX];
    int            n;
};

struct ntf_webhook_schedule {
    int64_t delay_s[NTF_WEBHOOK_SCHEDULE_MAX];
    int     n;
};

/* Registers the webhook metrics (before gw_metrics_init). 0 or -1. */
int ntf_webhook_metrics_register(void);

/*
 * Parses "10 30 60 …" (seconds, space separated, 0..n delays, each
 * 1..NTF_WEBHOOK_DELAY_MAX_S). 0 or -1.
 */
int ntf_webhook_schedule_parse(const char *s, struct ntf_webhook_schedule *out);

/*
 * The Vas-Signature value for body sent at Unix time t into out[cap]:
 * "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>". 0 or -1 (too small).
 */
int ntf_webhook_sign(const void *secret, size_t secret_len, int64_t t,
                     const char *body, size_t body_len, char *out, size_t cap);

/*
 * Parses "127.0.0.0/8 10.1.0.0/16 ::1/128" (space or comma separated CIDRs,
 * a bare address = a single host). 0 or -1.
 */
int ntf_webhook_nets_parse(const char *s, struct ntf_webhook_nets *out);

/*
 * 1 when a webhook may connect to sa: a public address, or one inside an
 * allowlisted network; 0 for loopback, link-local (169.254/16, fe80::/10),
 * private (10/8, 172.16/12, 192.168/16, fc00::/7), shared (100.64/10),
 * unspecified, multicast, reserved, and IPv4 addresses mapped into IPv6.
 */
int ntf_webhook_addr_allowed(const struct sockaddr         *sa,
                             const struct ntf_webhook_nets *allow);

/*
 * The delivery state after failed attempt number attempts (1-based):
 * *delay_s = seconds until the next try and 1, or 0 when dead-lettered.
 */
int ntf_webhook_next_delay(const struct ntf_webhook_schedule *s,
                           int64_t attempts, int64_t *delay_s);

/*
 * Starts the delivery thread (own MariaDB connection, loops until
 * gw_role_stopping()). 0 or -1; join *tid at the end.
 */
int ntf_webhook_thread_start(const struct gw_config *cfg, pthread_t *tid);

/*
 * Dead letters for operators, newest first, as a JSON array of
 * {"event_id","provider_id","type","attempts","last_status","last_error",
 * "created_at"} appended to out; keyset-paged by row id: before_id 0 = from
 * the newest; *next_before = the id to pass for the next page, 0 at the
 * end; *total = all dead letters. GW_OK or a db status.
 */
int ntf_webhook_dead_page(struct gw_db *db, struct gw_arena *a,
                          int64_t before_id, int64_t limit, struct gw_buf *out,
                          int64_t *next_before, int64_t *total);

#endif /* NTF_WEBHOOK_H */
