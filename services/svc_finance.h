/*
 * svc_finance.h — the finance and operator endpoints of the admin API:
 * CDR export (streamed CSV), day status, revenue reports, reconciliation
 * runs, subscriber look-ups and admin keys (orchestration over finance/).
 */
#ifndef SVC_FINANCE_H
#define SVC_FINANCE_H

struct gw_request;

int svc_admin_cdrs(struct gw_request *r);
int svc_admin_cdr_days(struct gw_request *r);
int svc_admin_report_revenue(struct gw_request *r);
int svc_admin_report_top_items(struct gw_request *r);
int svc_admin_reconciliations(struct gw_request *r);
int svc_admin_reconciliation(struct gw_request *r);
int svc_admin_subscribers_search(struct gw_request *r);
int svc_admin_subscriber_purchases(struct gw_request *r);
int svc_admin_keys(struct gw_request *r);
int svc_admin_key_revoke(struct gw_request *r);

#endif /* SVC_FINANCE_H */
