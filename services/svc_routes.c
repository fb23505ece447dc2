/*
 * svc_routes.c — every route of the gateway, in one table (API.md order).
 *
 * Columns: method, path pattern, handler, flags, body limit (0 = config).
 * Flags: USER (IM token), ADMIN (admin key), IDEM (Idempotency-Key
 * required and replayed; with TXKEY the handler's one transaction claims
 * it, see gw_idem.h), JSON (body must be a JSON object), TRUSTED
 * (server.metrics_trusted only), NOLOG (no access line), SECRET (the path
 * is a credential: logged as the pattern), READ/WRITE/MONEY (rate-limit
 * class, see gw_ratelimit.h).
 */
#include "ntf_relay.h"
#include "svc_account.h"
#include "svc_finance.h"
#include "svc_janitor.h"
#include "svc_lobby.h"
#include "svc_notify.h"
#include "svc_ops.h"
#include "svc_routes.h"
#include "svc_store.h"

#define PUBLIC GW_ROUTE_PUBLIC
#define USER   GW_ROUTE_USER
#define ADMIN  GW_ROUTE_ADMIN
#define IDEM   GW_ROUTE_IDEMPOTENT
#define TXKEY  GW_ROUTE_IDEM_TXN
#define JSON   GW_ROUTE_JSON
#define SECRET GW_ROUTE_SECRET_PATH
/* Rate-limit classes (gw_ratelimit.h; a route without one gets IDEM →
 * money, GET → read, else write). */
#define READ  GW_ROUTE_RL_READ
#define WRITE GW_ROUTE_RL_WRITE
#define MONEY GW_ROUTE_RL_MONEY

const struct gw_route svc_routes[] = {
    /* Catalog (no authentication) */
    {"GET", "/v1/catalog/categories", svc_catalog_categories, PUBLIC, 0},
    {"GET", "/v1/catalog/items", svc_catalog_items, PUBLIC, 0},
    {"GET", "/v1/catalog/items/{id}", svc_catalog_item, PUBLIC, 0},
    {"GET", "/v1/catalog/charts", svc_catalog_charts, PUBLIC, 0},
    {"GET", "/v1/previews/{item_id}", svc_store_preview, PUBLIC, 0},

    /* Account */
    {"GET", "/v1/me", svc_account_me, USER, 0},

    /* Purchases and library */
    {"POST", "/v1/purchases", svc_store_purchase,
     USER | IDEM | TXKEY | JSON | MONEY, 0},
    {"GET", "/v1/purchases", svc_store_purchases, USER, 0},
    {"GET", "/v1/purchases/{id}", svc_store_purchase_get, USER, 0},
    {"GET", "/v1/library", svc_store_library, USER, 0},
    {"POST", "/v1/library/{id}/download-links", svc_store_download_link,
     USER | JSON, 0},
    {"GET", "/v1/downloads/{token}", svc_store_download, PUBLIC | SECRET | READ,
     0},

    /* Game lobbies */
    {"POST", "/v1/lobbies", svc_lobby_create, USER | JSON, 0},
    {"GET", "/v1/lobbies", svc_lobby_list, USER, 0},
    {"POST", "/v1/lobbies/quick-match", svc_lobby_quick, USER | JSON, 0},
    {"GET", "/v1/lobbies/{id}", svc_lobby_get, USER, 0},
    {"POST", "/v1/lobbies/{id}/join", svc_lobby_join, USER, 0},
    {"POST", "/v1/lobbies/{id}/leave", svc_lobby_leave, USER, 0},
    {"POST", "/v1/lobbies/{id}/ready", svc_lobby_ready, USER | JSON, 0},
    {"POST", "/v1/lobbies/{id}/invite", svc_lobby_invite, USER | JSON, 0},
    {"POST", "/v1/lobbies/{id}/kick", svc_lobby_kick, USER | JSON, 0},
    {"POST", "/v1/lobbies/{id}/start", svc_lobby_start, USER | IDEM, 0},
    {"GET", "/v1/lobbies/{id}/ticket", svc_lobby_ticket, USER, 0},

    /* Notifications */
    {"GET", "/v1/notifications", svc_notify_inbox, USER, 0},

    /* Admin and finance */
    {"POST", "/v1/admin/subscribers", svc_admin_subscriber_create, ADMIN | JSON,
     0},
    {"GET", "/v1/admin/subscribers", svc_admin_subscribers_search, ADMIN, 0},
    {"GET", "/v1/admin/subscribers/{msisdn}", svc_admin_subscriber_get, ADMIN,
     0},
    {"GET", "/v1/admin/subscribers/{msisdn}/purchases",
     svc_admin_subscriber_purchases, ADMIN, 0},
    {"PATCH", "/v1/admin/subscribers/{msisdn}", svc_admin_subscriber_patch,
     ADMIN | JSON, 0},
    {"POST", "/v1/admin/subscribers/{msisdn}/topups", svc_admin_topup,
     ADMIN | IDEM | TXKEY | JSON | MONEY, 0},
    {"POST", "/v1/admin/purchases/{id}/refunds", svc_admin_refund,
     ADMIN | IDEM | TXKEY | JSON | MONEY, 0},
    {"GET", "/v1/admin/cdrs", svc_admin_cdrs, ADMIN, 0},
    {"GET", "/v1/admin/cdrs/days", svc_admin_cdr_days, ADMIN, 0},
    {"GET", "/v1/admin/reports/revenue", svc_admin_report_revenue, ADMIN, 0},
    {"GET", "/v1/admin/reports/top-items", svc_admin_report_top_items, ADMIN,
     0},
    {"GET", "/v1/admin/reconciliations", svc_admin_reconciliations, ADMIN, 0},
    {"GET", "/v1/admin/reconciliations/{id}", svc_admin_reconciliation, ADMIN,
     0},
    {"GET", "/v1/admin/keys", svc_admin_keys, ADMIN, 0},
    {"POST", "/v1/admin/keys/{id}/revoke", svc_admin_key_revoke, ADMIN, 0},
    {"GET", "/v1/admin/notifications/status", svc_notify_admin_status, ADMIN,
     0},
    {"POST", "/v1/admin/items", svc_admin_item_create, ADMIN | JSON, 0},
    {"PATCH", "/v1/admin/items/{id}", svc_admin_item_patch, ADMIN | JSON, 0},

    /* Operations */
    {"GET", "/healthz", svc_ops_healthz, GW_ROUTE_NOLOG, 0},
    {"GET", "/readyz", svc_ops_readyz, GW_ROUTE_NOLOG, 0},
    {"GET", "/metrics", svc_ops_metrics, GW_ROUTE_TRUSTED | GW_ROUTE_NOLOG, 0},
    {"GET", "/v1/debug/sleep", svc_ops_debug_sleep, GW_ROUTE_TRUSTED, 0},
};

const size_t svc_routes_count = sizeof(svc_routes) / sizeof(svc_routes[0]);

const struct gw_role svc_roles[] = {
    {"relay", ntf_relay_run},
    {"janitor", svc_janitor_run},
};
const int svc_roles_count = sizeof(svc_roles) / sizeof(svc_roles[0]);

int
svc_init(const struct gw_config *cfg)
{
    if (svc_store_init(cfg) != 0 || svc_notify_init() != 0
        || svc_lobby_init() != 0) {
        return -1;
    }
    return 0;
}
