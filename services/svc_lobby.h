/*
 * svc_lobby.h — the game lobby routes (API.md "Game lobbies"): parse,
 * call lobby/ (Redis) and store/store_start (the paid start), render.
 * Lobby events go to the IM through the notification contract
 * (docs/notifications.md): direct sends for lobby.invited,
 * member_joined, member_left and owner_changed; lobby.started is an
 * outbox row in the start's capture transaction.
 *
 * Redis down: every lobby route answers 503 unavailable at once (the
 * connect is refused, or times out after [redis] connect_timeout_ms).
 */
#ifndef SVC_LOBBY_H
#define SVC_LOBBY_H

#include <stddef.h>

struct gw_request;
struct lob_result;
struct lob_lobby;

int svc_lobby_create(struct gw_request *r);
int svc_lobby_list(struct gw_request *r);
int svc_lobby_quick(struct gw_request *r);
int svc_lobby_get(struct gw_request *r);
int svc_lobby_join(struct gw_request *r);
int svc_lobby_leave(struct gw_request *r);
int svc_lobby_ready(struct gw_request *r);
int svc_lobby_invite(struct gw_request *r);
int svc_lobby_kick(struct gw_request *r);
int svc_lobby_start(struct gw_request *r);
int svc_lobby_ticket(struct gw_request *r);

/* Computes the lobby scripts' SHA1s; before fork. 0 or -1. */
int svc_lobby_init(void);

/* (svc_lobby.c, for svc_lobby_start.c) */
int svc_lobby_reply(struct gw_request *r, int status, struct lob_lobby *l);
int svc_lobby_refused(struct gw_request *r, int rc,
                      const struct lob_result *res);
/* res's events as notifications and its lob_after work: one round trip. */
void        svc_lobby_events(struct gw_request *r, struct lob_result *res);
const char *svc_lobby_id(struct gw_request *r);

#endif /* SVC_LOBBY_H */
