/*
 * gw_backoff.h — exponential back-off for loops that talk to a service
 * that may be down (the relay, webhook delivery, any role). Pure function,
 * thread-safe.
 */
#ifndef GW_BACKOFF_H
#define GW_BACKOFF_H

#include <stdint.h>

/*
 * The next pause after prev_ms (0 = the first failure): GW_BACKOFF_MIN_MS,
 * then doubled each time, capped at GW_BACKOFF_MAX_MS (gw_limits.h).
 */
int64_t gw_backoff_next(int64_t prev_ms);

#endif /* GW_BACKOFF_H */
