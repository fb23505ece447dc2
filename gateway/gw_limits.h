/*
 * gw_limits.h — every size, count and timeout the gateway relies on, in one
 * place (sqlite's sqliteLimit.h is the model). Values that operators tune
 * live in the config file instead (etc/vasgw.ini); these are the hard caps.
 */
#ifndef GW_LIMITS_H
#define GW_LIMITS_H

#define GW_WORKERS_MAX        64  /* worker processes per master */
#define GW_THREADS_MAX        512 /* threads per worker process */
#define GW_ROLES_MAX          8   /* background role processes */
#define GW_THREAD_STACK_BYTES (512 * 1024)

#define GW_PARAMS_MAX         128           /* FastCGI params per request */
#define GW_PARAM_BYTES_MAX    8192          /* one param's value */
#define GW_PATH_BYTES_MAX     1024          /* request path */
#define GW_QUERY_BYTES_MAX    2048          /* query string */
#define GW_QUERY_ARGS_MAX     32            /* name=value pairs in a query */
#define GW_BODY_BYTES_MAX     (1024 * 1024) /* absolute ceiling of any body */
#define GW_BODY_DRAIN_MAX     (4 * 1024 * 1024) /* read and dropped on 413 */
#define GW_JSON_DEPTH_MAX     64  /* ceiling for limits.json_depth_max */
#define GW_JSON_PRINT_START   512 /* gw_json_print's first buffer */
#define GW_ROUTE_PARAMS_MAX   4   /* {placeholders} in one route */
#define GW_ROUTE_SEGMENTS_MAX 12  /* path segments in a route */
#define GW_ROUTES_MAX         128
#define GW_REPLY_HEADERS_MAX  2048 /* bytes of extra reply headers */
#define GW_REQUEST_ID_MAX     64
#define GW_USER_ID_MAX        64   /* IM user id (JWT sub) */
#define GW_TOKEN_BYTES_MAX    4096 /* bearer token */
#define GW_JWT_PART_MAX       2048 /* decoded JWT header or payload */
#define GW_IDEM_KEY_MAX       255
/* A purchase, top-up or refund waits this long on another in flight with
 * its Idempotency-Key (gw_idem_claim) before 409 idempotency_in_progress. */
#define GW_IDEM_WAIT_S        1
#define GW_SECRET_BYTES_MAX   4096
#define GW_ARENA_CHUNK_BYTES  (16 * 1024)
#define GW_ARENA_FIRST_BYTES  (64 * 1024) /* kept: gw_arena_init says why */
#define GW_ARENA_CLEANUPS_MAX 256
#define GW_SQL_BYTES_MAX      (256 * 1024)       /* one formatted statement */
#define GW_BUF_BYTES_MAX      (64 * 1024 * 1024) /* one growable gw_buf */
#define GW_LOG_LINE_MAX       2048
#define GW_LOG_URI_MAX        512 /* request path bytes kept in an access line */
#define GW_LOG_UA_MAX         256   /* user agent bytes kept */
#define GW_LOG_BUF_BYTES      16384 /* access lines buffered per thread */
#define GW_LOG_FLUSH_MS       200   /* oldest buffered line's max age */
#define GW_LOG_PATH_MAX       512   /* log file path kept for SIGUSR1 reopen */
#define GW_RL_BACKOFF_MS      1000  /* Redis down: limiter skipped for */
#define GW_RL_LEASE_SLOTS     4096  /* rate-limit leases a worker keeps */
#define GW_RL_LEASE_WAYS      8     /* slots a bucket key may take (a set) */
#define GW_RL_LEASE_SHARE     8     /* leases: burst / (SHARE x workers) */
#define GW_RL_REFILL_QUEUE    64    /* lease top-ups waiting for the refill */
#define GW_ADMIN_KEY_CACHE_MS 5000  /* revoked admin keys die within */

/* Batch work (vasctl audit): one set-based statement may read millions of
 * rows; not the request path's [mysql] read_timeout_ms. */
#define GW_BATCH_READ_TIMEOUT_MS (30 * 60 * 1000)

#define GW_METRICS_CUSTOM_MAX 64 /* counters/gauges other layers add */
/* Rows of the worker process view: live and retiring workers. */
#define GW_METRICS_WORKER_ROWS     (2 * (GW_WORKERS_MAX + GW_ROLES_MAX))
#define GW_METRICS_DIAG_TIMEOUT_MS 100 /* the kernel's accept-queue answer */

#define GW_RESTART_BACKOFF_MIN_MS 100
#define GW_RESTART_BACKOFF_MAX_MS 5000
/* Back-off of loops whose service is down (gw_backoff_next). */
#define GW_BACKOFF_MIN_MS 100
#define GW_BACKOFF_MAX_MS 2000

/* A worker alive this long resets its restart back-off. */
#define GW_WORKER_HEALTHY_MS 2000
/* Binary upgrade (SIGUSR2): the new master's workers must stay up this long
 * before it tells the old master to retire; the old one gives the new one
 * this long to do so before it takes its pid file back. */
#define GW_UPGRADE_SETTLE_MS  300
#define GW_UPGRADE_TIMEOUT_MS 30000

/* gw_random_bytes: requests of up to GW_RANDOM_SMALL bytes are served from
 * a per-thread block of GW_RANDOM_BLOCK bytes of RAND_bytes output (one
 * RAND_bytes, and its getpid(2), per ~25 lobby notification ids). */
#define GW_RANDOM_SMALL 32
#define GW_RANDOM_BLOCK 512

#endif /* GW_LIMITS_H */
