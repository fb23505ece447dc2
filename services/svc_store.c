/*
 * svc_store.c — STUB: replaced by the catalog/store work (issue 4).
 */
#include "gw_request.h"
#include "gw_status.h"
#include "svc_store.h"

#define STUB(name)                                                          \
    int name(struct gw_request *r)                                          \
    {                                                                       \
        gw_request_problem(r, "not implemented yet");                       \
        return GW_ENOTFOUND;                                                \
    }

STUB(svc_catalog_categories)
STUB(svc_catalog_items)
STUB(svc_catalog_item)
STUB(svc_catalog_charts)
STUB(svc_store_preview)
STUB(svc_store_purchase)
STUB(svc_store_purchases)
STUB(svc_store_purchase_get)
STUB(svc_store_library)
STUB(svc_store_download_link)
STUB(svc_store_download)
STUB(svc_admin_item_create)
STUB(svc_admin_item_patch)
STUB(svc_admin_refund)

int
svc_store_init(void)
{
    return 0;
}
