/*
 * store_internal.h — helpers shared by the store_*.c files only.
 */
#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

#include <stdarg.h>

#include "store.h"

/* Sets ctx->detail (printf) and returns rc, for refusals. */
int store_refuse(struct store_ctx *ctx, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The entitlement epoch to key cached download targets with (-1: do not
 * cache), and its bump inside the caller's transaction (a revocation;
 * the bucket is picked by key, e.g. the purchase id). */
int64_t store_epoch_get(struct gw_db *db, struct gw_arena *a);
int     store_epoch_bump(struct gw_db *db, int64_t key) GW_MUST_CHECK;

/* After a commit that bumped the epoch: this host sees it at once. */
void store_epoch_refresh(struct gw_db *db, struct gw_arena *a);

/* UTC milliseconds ↔ "YYYY-MM-DD HH:MM:SS.mmm" (DATETIME(3)) and
 * RFC 3339 "YYYY-MM-DDTHH:MM:SSZ". */
void store_time_sql(int64_t ms, char out[32]);
void store_time_rfc3339(int64_t ms, char out[32]);

#endif /* STORE_INTERNAL_H */
