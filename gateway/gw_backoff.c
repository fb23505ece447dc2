/*
 * gw_backoff.c — exponential back-off.
 */
#include "gw_backoff.h"
#include "gw_limits.h"

int64_t
gw_backoff_next(int64_t prev_ms)
{
    if (prev_ms < GW_BACKOFF_MIN_MS) {
        return GW_BACKOFF_MIN_MS;
    }
    return prev_ms >= GW_BACKOFF_MAX_MS / 2 ? GW_BACKOFF_MAX_MS : prev_ms * 2;
}
