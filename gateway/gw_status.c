/*
 * gw_status.c — the single table from status to HTTP problem.
 */
#include "gw_status.h"

struct gw_status_map {
    int         http;
    const char *code;
    const char *title;
};

/* Indexed by -rc. */
static const struct gw_status_map gw_status_table[] = {
    [0] = {200, "ok", "OK"},
    [-GW_ERROR] = {500, "internal", "Internal Server Error"},
    [-GW_EINVAL] = {400, "invalid_request", "Invalid request"},
    [-GW_EUNAUTHORIZED] = {401, "unauthorized", "Unauthorized"},
    [-GW_EFORBIDDEN] = {403, "forbidden", "Forbidden"},
    [-GW_ENOTFOUND] = {404, "not_found", "Not found"},
    [-GW_EMETHOD] = {405, "method_not_allowed", "Method not allowed"},
    [-GW_ETOOLARGE] = {413, "payload_too_large", "Payload too large"},
    [-GW_EFUNDS] = {402, "insufficient_funds", "Insufficient funds"},
    [-GW_ECAP] = {402, "spend_cap_exceeded", "Spending cap exceeded"},
    [-GW_ESUSPENDED] = {403, "account_suspended", "Account suspended"},
    [-GW_EPRICE] = {409, "price_changed", "Price changed"},
    [-GW_EIDEM_REQUIRED] = {400, "idempotency_key_required",
                            "Idempotency-Key required"},
    [-GW_EIDEM_REUSED] = {422, "idempotency_key_reused",
                          "Idempotency-Key reused with another request"},
    [-GW_EIDEM_BUSY] = {409, "idempotency_in_progress",
                        "A request with this Idempotency-Key is in progress"},
    [-GW_ELOBBY_FULL] = {409, "lobby_full", "Lobby full"},
    [-GW_ELOBBY_CLOSED] = {409, "lobby_closed", "Lobby closed"},
    [-GW_EIN_LOBBY] = {409, "already_in_lobby", "Already in a lobby"},
    [-GW_ENOT_OWNER] = {403, "not_lobby_owner", "Not the lobby owner"},
    [-GW_EEXPIRED] = {410, "link_expired", "Link expired"},
    [-GW_EREVOKED] = {410, "entitlement_revoked", "Entitlement revoked"},
    [-GW_EOWNED] = {409, "already_owned", "Already owned"},
    [-GW_ERATE] = {429, "rate_limited", "Too many requests"},
    [-GW_EUNAVAIL] = {503, "unavailable", "Service unavailable"},
    [-GW_EOUTCOME] = {503, "unavailable",
                      "Outcome unknown: retry with the same Idempotency-Key"},
    [-GW_ECONFLICT] = {409, "conflict", "Conflict"},
    [-GW_EBADGATEWAY] = {502, "bad_gateway", "Bad gateway"},
    [-GW_ERETRY] = {503, "unavailable", "Service busy, retry"},
    [-GW_EDUP] = {409, "conflict", "Conflict"},
    [-GW_EMEDIA] = {415, "unsupported_media_type", "Unsupported media type"},
};

static const struct gw_status_map *
gw_status_find(int rc)
{
    if (rc > 0 || rc < GW_STATUS_MIN || gw_status_table[-rc].code == 0) {
        return &gw_status_table[-GW_ERROR];
    }
    return &gw_status_table[-rc];
}

int
gw_status_http(int rc)
{
    return gw_status_find(rc)->http;
}

const char *
gw_status_code(int rc)
{
    return gw_status_find(rc)->code;
}

const char *
gw_status_title(int rc)
{
    return gw_status_find(rc)->title;
}
