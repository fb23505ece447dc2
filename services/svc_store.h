/*
 * svc_store.h — catalog browsing, the ringtone/game store (purchases,
 * library, download links, downloads, previews) and admin items/refunds.
 */
#ifndef SVC_STORE_H
#define SVC_STORE_H

struct gw_config;
struct gw_request;

int svc_catalog_categories(struct gw_request *r);
int svc_catalog_items(struct gw_request *r);
int svc_catalog_item(struct gw_request *r);
int svc_catalog_charts(struct gw_request *r);
int svc_store_preview(struct gw_request *r);
int svc_store_purchase(struct gw_request *r);
int svc_store_purchases(struct gw_request *r);
int svc_store_purchase_get(struct gw_request *r);
int svc_store_library(struct gw_request *r);
int svc_store_download_link(struct gw_request *r);
int svc_store_download(struct gw_request *r);
int svc_admin_item_create(struct gw_request *r);
int svc_admin_item_patch(struct gw_request *r);
int svc_admin_refund(struct gw_request *r);

/* Registers the store's metrics and maps the host's fragment cache
 * ([catalog] fragment_cache_mb); before the master forks. */
int svc_store_init(const struct gw_config *cfg);

#endif /* SVC_STORE_H */
