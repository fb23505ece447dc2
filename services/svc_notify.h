/*
 * svc_notify.h — HTTP handlers of notifications (the work is in notify/):
 * the user's inbox and the operators' notification status.
 */
#ifndef SVC_NOTIFY_H
#define SVC_NOTIFY_H

struct gw_request;

/* GET /v1/notifications (USER): newest first, or since=ID polling. */
int svc_notify_inbox(struct gw_request *r);

/*
 * GET /v1/admin/notifications/status (ADMIN): relay backlog (count, oldest
 * age) and webhook dead letters (newest first, paged with before=).
 */
int svc_notify_admin_status(struct gw_request *r);

/* Registers notify/'s metrics and script ids; once, before fork. */
int svc_notify_init(void);

#endif /* SVC_NOTIFY_H */
