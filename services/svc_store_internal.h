/*
 * svc_store_internal.h — helpers shared by the svc_store_*.c files only.
 */
#ifndef SVC_STORE_INTERNAL_H
#define SVC_STORE_INTERNAL_H

#include <stdint.h>

#include <cJSON.h>

#include "cat.h"
#include "store.h"

struct gw_request;

/* A store context for the request (its db, arena, caller as actor). */
void svc_store_ctx(struct gw_request *r, struct store_ctx *ctx);

/* rc unchanged; a refusal's detail (and the price of GW_EPRICE) goes into
 * the request's problem. */
int svc_store_refused(struct gw_request *r, const struct store_ctx *ctx,
                      int rc);

/* Parses route param n as a positive id: GW_OK or GW_ENOTFOUND. */
int svc_store_id_param(struct gw_request *r, size_t n, int64_t *id);

/* limit= (1..100, default 20) into *limit. GW_OK or GW_EINVAL. */
int svc_store_limit(struct gw_request *r, int64_t *limit);

/* limit= (1..100, default 20) and cursor= (sort CAT_SORT_NEW keys). */
int svc_store_page_args(struct gw_request *r, int64_t *limit, int *has_cursor,
                        int64_t *after_id);

/* Signs a download link for (entitlement, format) into a JSON object. */
cJSON *svc_store_link_json_new(struct gw_request *r, int64_t entitlement_id,
                               const char *format);

/* This worker's rendered catalog items (catalog/cat_frag.h), or NULL when
 * [catalog] fragment_cache is off. */
struct cat_frag_cache *svc_store_frags(struct gw_request *r);

/* Replies with a JSON body, caching nothing (serialises into the arena). */
int svc_store_reply(struct gw_request *r, int status, cJSON *body);

#endif /* SVC_STORE_INTERNAL_H */
