/*
 * gw_status.h — the one status enum of the whole program (0 = OK, negative =
 * error), and its mapping to HTTP problem+json (RFC 9457). Domain code
 * returns these values; only the gateway turns them into replies. The codes
 * are the stable, machine-readable "code" members of API.md.
 */
#ifndef GW_STATUS_H
#define GW_STATUS_H

enum gw_status {
    GW_OK = 0,
    GW_ERROR = -1,           /* internal: 500 */
    GW_EINVAL = -2,          /* 400 invalid_request */
    GW_EUNAUTHORIZED = -3,   /* 401 */
    GW_EFORBIDDEN = -4,      /* 403 */
    GW_ENOTFOUND = -5,       /* 404 */
    GW_EMETHOD = -6,         /* 405 */
    GW_ETOOLARGE = -7,       /* 413 */
    GW_EFUNDS = -8,          /* 402 insufficient_funds */
    GW_ECAP = -9,            /* 402 spend_cap_exceeded */
    GW_ESUSPENDED = -10,     /* 403 account_suspended */
    GW_EPRICE = -11,         /* 409 price_changed */
    GW_EIDEM_REQUIRED = -12, /* 400 idempotency_key_required */
    GW_EIDEM_REUSED = -13,   /* 422 idempotency_key_reused */
    GW_EIDEM_BUSY = -14,     /* 409 idempotency_in_progress */
    GW_ELOBBY_FULL = -15,    /* 409 */
    GW_ELOBBY_CLOSED = -16,  /* 409 */
    GW_EIN_LOBBY = -17,      /* 409 already_in_lobby */
    GW_ENOT_OWNER = -18,     /* 403 not_lobby_owner */
    GW_EEXPIRED = -19,       /* 410 link_expired */
    GW_EREVOKED = -20,       /* 410 entitlement_revoked */
    GW_EOWNED = -21,         /* 409 already_owned */
    GW_ERATE = -22,          /* 429 rate_limited */
    GW_EUNAVAIL = -23,       /* 503 unavailable: a dependency is down */
    GW_EOUTCOME = -24,       /* 503 unavailable: COMMIT outcome unknown */
    GW_ECONFLICT = -25,      /* 409 conflict (duplicate, state) */
    GW_EBADGATEWAY = -26,    /* 502 a partner failed */
    GW_ERETRY = -27,         /* deadlock/lock wait: retry the txn */
    GW_EDUP = -28,           /* duplicate key (internal use) */
    GW_EMEDIA = -29,         /* 415 unsupported_media_type */
    GW_STATUS_MIN = -29
};

/* HTTP status for rc (500 for unknown values). */
int gw_status_http(int rc);

/* Stable problem "code" string for rc (never NULL). */
const char *gw_status_code(int rc);

/* Short human title for rc (never NULL). */
const char *gw_status_title(int rc);

#endif /* GW_STATUS_H */
